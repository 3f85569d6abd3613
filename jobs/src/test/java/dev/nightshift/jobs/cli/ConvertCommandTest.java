package dev.nightshift.jobs.cli;

import dev.nightshift.SharedFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvertCommandTest {

    @TempDir
    Path work;

    record Outcome(int code, String out, String err) {
    }

    static Outcome run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = NightshiftCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Outcome(code, out.toString(), err.toString());
    }

    @Test
    void convertsStories260KWithItsTokenizer() {
        Path to = work.resolve("stories");
        Outcome outcome = run("convert", "--from", SharedFiles.stories260K().toString(),
                "--tokenizer", SharedFiles.tok512().toString(), "--to", to.toString(), "--precision", "int8");
        assertEquals(0, outcome.code(), outcome.err());
        assertTrue(outcome.out().contains("int8") && outcome.out().contains("260,032 parameters"), outcome.out());
        assertTrue(Files.exists(to.resolve("model.onnx")) && Files.exists(to.resolve("tokenizer.json")));
    }

    @Test
    void convertsRandomShapes() {
        Outcome outcome = run("convert", "--random", "64,128,2,4,2,300,128", "--to", work.resolve("r").toString(),
                "--precision", "fp32");
        assertEquals(0, outcome.code(), outcome.err());
        assertTrue(outcome.out().contains("note: random weights: wrote a synthetic tokenizer"), outcome.out());
        assertTrue(Files.exists(work.resolve("r").resolve("tokenizer.json")));
    }

    @Test
    void convertsATokenizerFromAGgufFile() throws Exception {
        Path to = work.resolve("gguf-tokenizer");
        Outcome outcome = run("convert", "--random", "32,64,1,2,1,32000,64", "--to", to.toString(), "--precision", "fp32",
                "--tokenizer", dev.nightshift.RealTokenizers.gguf("ggml-vocab-llama-spm.gguf").toString());
        assertEquals(0, outcome.code(), outcome.err());
        assertTrue(Files.readString(to.resolve("tokenizer_config.json")).contains("\"bos_token\" : \"<s>\""));
        assertTrue(Files.size(to.resolve("tokenizer.json")) > 1_000_000, "a 32,000-piece vocabulary with its merges");

        Outcome mismatch = run("convert", "--random", "tiny", "--to", work.resolve("gguf-mismatch").toString(),
                "--tokenizer", dev.nightshift.RealTokenizers.gguf("ggml-vocab-llama-spm.gguf").toString());
        assertEquals(2, mismatch.code(), mismatch.out());
        assertTrue(mismatch.err().contains("has 32000 tokens but the checkpoint's vocabulary has"), mismatch.err());
    }

    @Test
    void badUsageExitsWithCode2AndOneLineReason() {
        Outcome missingTo = run("convert", "--from", "x");
        assertEquals(2, missingTo.code());
        assertTrue(missingTo.err().startsWith("nightshift: Missing required option: '--to=DIR'"), missingTo.err());

        Outcome both = run("convert", "--from", "x", "--random", "tiny", "--to", work.resolve("y").toString());
        assertEquals(2, both.code());
        assertTrue(both.err().contains("exactly one of --from or --random"), both.err());

        Outcome precision = run("convert", "--random", "tiny", "--to", work.resolve("z").toString(), "--precision", "int3");
        assertEquals(2, precision.code());
        assertTrue(precision.err().contains("unknown precision 'int3'"), precision.err());

        Outcome refineAlone = run("convert", "--random", "tiny", "--to", work.resolve("w").toString(), "--refine", "10");
        assertEquals(2, refineAlone.code());
        assertTrue(refineAlone.err().contains("--calibrate N with --refine STEPS"), refineAlone.err());
    }

    @Test
    void calibratesAndRefinesARandomModel() {
        Path to = work.resolve("refined");
        Outcome outcome = run("convert", "--random", "64,128,2,4,2,300,128", "--to", to.toString(),
                "--precision", "int4", "--block-size", "16", "--calibrate", "256", "--refine", "3");
        assertEquals(0, outcome.code(), outcome.err());
        assertTrue(outcome.err().contains("refining: 3 steps of distillation"), outcome.err());
        assertTrue(Files.exists(to.resolve("model.onnx")));
    }

    @Test
    void missingCheckpointIsNamed() {
        Outcome outcome = run("convert", "--from", work.resolve("absent.bin").toString(), "--to", work.resolve("o").toString());
        assertEquals(2, outcome.code());
        assertTrue(outcome.err().contains("absent.bin"), outcome.err());
        assertEquals(1, outcome.err().strip().lines().count(), outcome.err());
    }

    @Test
    void everyCommandHasHelp() {
        Outcome top = run("--help");
        assertEquals(0, top.code());
        assertTrue(top.out().contains("convert"), top.out());
        Outcome convert = run("convert", "--help");
        assertEquals(0, convert.code());
        assertTrue(convert.out().contains("--precision") && convert.out().contains("Examples:"), convert.out());
    }
}
