package dev.nightshift.jobs.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchSizesTest {

    @Test
    void defaultsStayWhenTheyFit() {
        BenchSizes sizes = BenchSizes.fit(null, null, null, null, 4096);
        assertEquals(new BenchSizes(256, 64, 300, 200, java.util.List.of()), sizes);
    }

    @Test
    void defaultsShrinkToASmallContext() {
        BenchSizes sizes = BenchSizes.fit(null, null, null, null, 256);
        assertTrue(sizes.promptTokens() + sizes.newTokens() <= 256, sizes.toString());
        assertTrue(sizes.prefixTokens() + sizes.documentTokens() + 2 <= 256, sizes.toString());
        assertTrue(sizes.prefixTokens() > sizes.documentTokens(), sizes.toString());
        assertEquals(2, sizes.notes().size(), sizes.notes().toString());
        assertTrue(sizes.notes().get(1).contains("context of 256 tokens"), sizes.notes().toString());
    }

    @Test
    void aDefaultMakesRoomForAnExplicitValue() {
        BenchSizes sizes = BenchSizes.fit(480, null, 500, null, 512);
        assertEquals(32, sizes.newTokens());
        assertEquals(10, sizes.documentTokens());
    }

    @Test
    void explicitValuesThatDoNotFitAreUsageErrors() {
        UserError.Usage prompt = assertThrows(UserError.Usage.class, () -> BenchSizes.fit(500, 64, 0, null, 512));
        assertEquals("--prompt-tokens 500 + --new-tokens 64 = 564 tokens do not fit the model's context of 512 tokens; "
                + "give smaller values", prompt.getMessage());
        UserError.Usage prefix = assertThrows(UserError.Usage.class, () -> BenchSizes.fit(null, null, 300, 300, 512));
        assertTrue(prefix.getMessage().contains("= 602 tokens do not fit the model's context of 512 tokens"), prefix.getMessage());
        assertThrows(UserError.Usage.class, () -> BenchSizes.fit(512, null, 0, null, 512));
        assertThrows(UserError.Usage.class, () -> BenchSizes.fit(0, null, null, null, 512));
    }

    @Test
    void prefixZeroSkipsTheSharedPrefixTest() {
        assertEquals(0, BenchSizes.fit(null, null, 0, null, 64).prefixTokens());
    }
}
