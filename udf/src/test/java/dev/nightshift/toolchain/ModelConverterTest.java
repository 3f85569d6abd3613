package dev.nightshift.toolchain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.SharedFiles;
import dev.nightshift.model.HuggingFaceWriter;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.model.ReferenceLlama;
import dev.nightshift.model.WeightSources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whole-folder conversions: Hugging Face folders and llama2.c files in, complete model folders out. */
class ModelConverterTest {

    @TempDir
    Path work;

    static final LlamaConfig SHAPE = new LlamaConfig(64, 128, 2, 4, 2, 16, 300, 64, 1e-5f, 500000,
            new LlamaConfig.RopeScaling(8, 1, 4, 32), false, true, 1, new int[]{2, 3});

    @Test
    void huggingFaceFolderConvertsToACompleteModelThatMatchesTheReference() throws Exception {
        RandomWeights weights = new RandomWeights(SHAPE, 3);
        Path hf = HuggingFaceWriter.of(weights).dtype("BF16").shards(2).write(work.resolve("hf"));
        Files.writeString(hf.resolve("tokenizer.json"), "{}");
        Files.writeString(hf.resolve("tokenizer_config.json"), "{\"add_bos_token\": true}");

        ModelConverter.ConversionResult result = ModelConverter.convert(hf, work.resolve("out"),
                ConversionOptions.of(Precision.FP32), null, ConversionListener.NONE);

        Set<String> files = list(result.folder());
        assertEquals(Set.of("model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json", "tokenizer_config.json"), files);
        assertTrue(result.notes().isEmpty(), result.notes().toString());
        JsonNode genai = new ObjectMapper().readTree(result.folder().resolve("genai_config.json").toFile());
        assertEquals(2, genai.at("/model/decoder/num_key_value_heads").asInt());
        assertEquals(16, genai.at("/model/decoder/head_size").asInt());
        assertEquals("[2,3]", genai.at("/model/eos_token_id").toString());
        assertEquals(true, genai.at("/search/past_present_share_buffer").asBoolean());
        assertEquals(LlamaOnnxWriter.LOGITS_LAST, genai.at("/nightshift/logits").asText());

        // The BF16 checkpoint, read back, is the reference the converted graph must match.
        try (var source = WeightSources.open(hf); OnnxLlama onnx = new OnnxLlama(result.folder(), 2, 2, 16)) {
            ReferenceLlama reference = new ReferenceLlama(source, 64);
            float[] expected = null;
            int[] prompt = {5, 17, 42, 7};
            for (int pos = 0; pos < prompt.length; pos++) {
                expected = reference.forward(prompt[pos], pos);
            }
            float[] actual = onnx.forward(prompt);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], actual[i], 1e-4, "logit " + i);
            }
        }
    }

    @Test
    void llama2cCheckpointWithTokenizerGetsTokenizerJson() throws Exception {
        ModelConverter.ConversionResult result = ModelConverter.convert(SharedFiles.stories260K(), work.resolve("stories"),
                ConversionOptions.of(Precision.INT4), SharedFiles.tok512(), ConversionListener.NONE);
        assertEquals(Set.of("model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json",
                "tokenizer_config.json", "special_tokens_map.json"), list(result.folder()));
        JsonNode genai = new ObjectMapper().readTree(result.folder().resolve("genai_config.json").toFile());
        assertEquals("int4", genai.at("/nightshift/precision").asText());
        assertEquals("fp16", genai.at("/nightshift/embedding_dtype").asText());
    }

    @Test
    void lmHeadBitsAreConfigurable() throws Exception {
        ModelConverter.ConversionResult eight = ModelConverter.convert(SharedFiles.stories260K(), work.resolve("head8"),
                ConversionOptions.of(Precision.INT4), null, ConversionListener.NONE);
        ModelConverter.ConversionResult four = ModelConverter.convert(SharedFiles.stories260K(), work.resolve("head4"),
                ConversionOptions.of(Precision.INT4).withHeadBits(4), null, ConversionListener.NONE);
        JsonNode genai = new ObjectMapper().readTree(four.folder().resolve("genai_config.json").toFile());
        assertEquals("4", genai.at("/nightshift/lm_head_bits").asText());
        // 512 x 64 weights: 8-bit blocks of 32 take 32 bytes + a 4-byte scale, 4-bit blocks 16 + 4.
        assertEquals(512L * 2 * (32 + 4), eight.bytesByKind().get("lm_head"));
        assertEquals(512L * 2 * (16 + 4), four.bytesByKind().get("lm_head"));
        assertThrows(IllegalArgumentException.class, () -> ConversionOptions.of(Precision.INT4).withHeadBits(6));
    }

    @Test
    void checkpointWithoutTokenizerSaysSo() throws Exception {
        ModelConverter.ConversionResult result = ModelConverter.convert(SharedFiles.stories260K(), work.resolve("bare"),
                ConversionOptions.of(Precision.FP32), null, ConversionListener.NONE);
        assertEquals(1, result.notes().size());
        assertTrue(result.notes().get(0).contains("--tokenizer"), result.notes().get(0));
    }

    @Test
    void refusesANonEmptyOutputFolderAndLeavesItAlone() throws Exception {
        Path target = Files.createDirectories(work.resolve("busy"));
        Files.writeString(target.resolve("keep.txt"), "precious");
        IOException error = assertThrows(IOException.class, () -> ModelConverter.convert(SharedFiles.stories260K(), target,
                ConversionOptions.of(Precision.INT4), null, ConversionListener.NONE));
        assertTrue(error.getMessage().contains("not empty"), error.getMessage());
        assertEquals("precious", Files.readString(target.resolve("keep.txt")));
    }

    @Test
    void aFailedConversionLeavesNoPartialFolder() throws Exception {
        Path hf = HuggingFaceWriter.of(new RandomWeights(SHAPE, 3)).omitTensor("model.layers.1.mlp.down_proj.weight")
                .write(work.resolve("broken"));
        Path target = work.resolve("never");
        Exception error = assertThrows(Exception.class, () -> ModelConverter.convert(hf, target,
                ConversionOptions.of(Precision.INT4), null, ConversionListener.NONE));
        assertTrue(error.getMessage().contains("down_proj"), error.getMessage());
        assertFalse(Files.exists(target));
        try (Stream<Path> left = Files.list(work)) {
            assertEquals(List.of("broken"), left.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList()));
        }
    }

    @Test
    void modelFoldersHonourTheUmaskSoOtherUsersCanReadThem() throws Exception {
        // Reference modes: what this process's umask gives any new folder and file (rwxr-xr-x / rw-r--r-- under 022).
        Path referenceDir = Files.createDirectory(work.resolve("reference"));
        Path referenceFile = Files.writeString(work.resolve("reference.txt"), "x");
        Set<java.nio.file.attribute.PosixFilePermission> dirMode = Files.getPosixFilePermissions(referenceDir);
        Set<java.nio.file.attribute.PosixFilePermission> fileMode = Files.getPosixFilePermissions(referenceFile);
        org.junit.jupiter.api.Assumptions.assumeTrue(dirMode.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ),
                "the umask already hides folders from other users");

        Path model = ModelConverter.convert(SharedFiles.stories260K(), work.resolve("shared-model"),
                ConversionOptions.of(Precision.FP32), null, ConversionListener.NONE).folder();

        assertEquals(dirMode, Files.getPosixFilePermissions(model), "the model folder's mode");
        try (Stream<Path> files = Files.list(model)) {
            for (Path file : files.toList()) {
                assertEquals(fileMode, Files.getPosixFilePermissions(file), file.getFileName().toString());
            }
        }
    }

    @Test
    void missingTokenizerFileIsNamed() {
        Path missing = work.resolve("nope.bin");
        IOException error = assertThrows(IOException.class, () -> ModelConverter.convert(SharedFiles.stories260K(),
                work.resolve("x"), ConversionOptions.of(Precision.INT4), missing, ConversionListener.NONE));
        assertTrue(error.getMessage().contains("nope.bin"), error.getMessage());
    }

    private static Set<String> list(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }
}
