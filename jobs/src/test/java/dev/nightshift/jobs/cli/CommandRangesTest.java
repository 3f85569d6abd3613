package dev.nightshift.jobs.cli;

import org.junit.jupiter.api.Test;

import static dev.nightshift.jobs.cli.ConvertCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Command-line flags have the job config's ranges, checked before any model is opened (exit code 2). */
class CommandRangesTest {

    @Test
    void generateAndBenchRefuseThreadsFarBeyondAnyMachine() {
        ConvertCommandTest.Outcome generate = run("generate", "--model", "no-model-needed", "--prompt", "x",
                "--threads", "100000");
        assertEquals(2, generate.code(), generate.err());
        assertTrue(generate.err().contains("--threads must be between 0 and 1024 (0 = all cores of the executor), got 100000"),
                generate.err());
        ConvertCommandTest.Outcome bench = run("bench", "--random", "tiny", "--threads", "5000");
        assertEquals(2, bench.code(), bench.err());
        assertTrue(bench.err().contains("--threads must be between 0 and 1024"), bench.err());
    }

    @Test
    void generateChecksSamplingFlagsAgainstTheConfigsRanges() {
        ConvertCommandTest.Outcome outcome = run("generate", "--model", "no-model-needed", "--prompt", "x", "--top-p", "0");
        assertEquals(2, outcome.code(), outcome.err());
        assertTrue(outcome.err().contains("--top-p must be greater than 0 and at most 1 (1 = off), got 0"), outcome.err());
    }
}
