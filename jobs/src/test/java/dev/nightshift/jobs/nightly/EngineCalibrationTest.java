package dev.nightshift.jobs.nightly;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dry run's calibration is measured once per key and then read back from its cache file; no Spark. */
class EngineCalibrationTest {

    @Test
    void measuresOncePerKeyAndReadsTheCacheAfterwards(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("nested/calibration.properties");
        FakeEngine engine = (FakeEngine) new FakeEngine.Factory().open(null);
        AtomicLong prompts = FakeEngine.PROMPTS;

        long before = prompts.get();
        EngineCalibration first = EngineCalibration.of(file, "fp-1 | cpu | cpu | threads all", engine, 32);
        assertFalse(first.cached());
        assertEquals(4, first.decodeBatch());
        assertTrue(first.prefillTokensPerSecond() > 0 && first.decodeTokensPerSecond() > 0, first.toString());
        assertTrue(prompts.get() > before, "measured with generate calls");
        assertTrue(Files.readString(file).contains("prefill_tokens_per_second"));

        long measured = prompts.get();
        EngineCalibration again = EngineCalibration.of(file, "fp-1 | cpu | cpu | threads all", engine, 32);
        assertTrue(again.cached());
        assertEquals(first.prefillTokensPerSecond(), again.prefillTokensPerSecond());
        assertEquals(first.decodeTokensPerSecond(), again.decodeTokensPerSecond());
        assertEquals(measured, prompts.get(), "a cached entry runs no generate call");

        // another model (or CPU, provider, threads) is another key; the first entry stays
        EngineCalibration other = EngineCalibration.of(file, "fp-2 | cpu | cpu | threads all", engine, 2);
        assertFalse(other.cached());
        assertEquals(2, other.decodeBatch(), "never more rows than model.max_batch_rows");
        assertTrue(EngineCalibration.of(file, "fp-1 | cpu | cpu | threads all", engine, 32).cached());
    }

    @Test
    void theCacheFileCanBeMovedByEnvironmentAndDefaultsUnderTheUsersCache() {
        Path file = EngineCalibration.defaultFile();
        assertEquals(EngineCalibration.FILE_NAME, file.getFileName().toString());
        String own = System.getenv(EngineCalibration.CACHE_DIR_ENV);
        if (own == null || own.isBlank()) {
            assertEquals("nightshift", file.getParent().getFileName().toString());
        } else {
            assertEquals(Path.of(own, EngineCalibration.FILE_NAME), file);
        }
    }
}
