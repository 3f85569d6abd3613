package dev.nightshift.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HuggingFaceCheckpointTest {

    /** GQA, head width 24 while dim / heads = 16, llama3 rope scaling, several EOS ids, untied. */
    private static final LlamaConfig GQA_UNTIED = new LlamaConfig(64, 96, 2, 4, 2, 24, 100, 256, 1e-6f, 500000.0,
            new LlamaConfig.RopeScaling(8.0, 1.0, 4.0, 64), false, false, 5, new int[] {6, 7});
    /** Multi-head attention, tied embeddings, plain rope. */
    private static final LlamaConfig MHA_TIED = new LlamaConfig(48, 80, 3, 6, 6, 8, 90, 128, 1e-5f, 10000.0, null,
            false, true, 1, new int[] {2});

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}, {1} shard(s), tied {2}")
    @CsvSource({"F32, 1, false", "F32, 3, true", "F16, 1, true", "F16, 2, false", "BF16, 1, false", "BF16, 4, true"})
    void roundTripsRandomWeights(String dtype, int shards, boolean tied) throws IOException {
        RandomWeights source = new RandomWeights(tied ? MHA_TIED : GQA_UNTIED, shards);
        HuggingFaceWriter.of(source).dtype(dtype).shards(shards).write(dir);
        assertEquals(shards > 1, Files.exists(dir.resolve("model.safetensors.index.json")));
        try (HuggingFaceCheckpoint model = HuggingFaceCheckpoint.open(dir)) {
            assertEquals(source.config(), model.config());
            WeightSourceAssertions.assertSameWeights(source, model, dtype);
            assertTrue(model.description().contains(shards + " safetensors file"), model.description());
        }
    }

    @Test
    void readsConfigOptionsAndGenerationConfig() throws IOException {
        HuggingFaceWriter.of(new RandomWeights(MHA_TIED, 1)).ropeTheta(123456.0)
                .ropeScaling(new LlamaConfig.RopeScaling(32.0, 1.0, 4.0, 8192)).eosIds(128001, 128009)
                .generationConfigEosIds(128001, 128008).write(dir);
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        try (HuggingFaceCheckpoint model = HuggingFaceCheckpoint.open(dir)) {
            LlamaConfig config = model.config();
            assertEquals(123456.0, config.ropeTheta());
            assertEquals(new LlamaConfig.RopeScaling(32.0, 1.0, 4.0, 8192), config.ropeScaling());
            assertArrayEquals(new int[] {128001, 128009, 128008}, config.eosIds());
            assertEquals(Map.of("tokenizer.json", dir.resolve("tokenizer.json"), "generation_config.json",
                    dir.resolve("generation_config.json")), model.sideFiles());
        }
    }

    @Test
    void readsTheLlama32OneBConfig() throws IOException {
        Files.writeString(dir.resolve("config.json"), """
                {
                  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
                  "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu",
                  "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
                  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
                  "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1,
                  "rms_norm_eps": 1e-05,
                  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
                  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256
                }""");
        Files.writeString(dir.resolve("generation_config.json"),
                "{\"bos_token_id\": 128000, \"eos_token_id\": [128001, 128008, 128009], \"do_sample\": true}");
        assertEquals(RandomWeights.llama32OneB(), HuggingFaceCheckpoint.readConfig(dir));
    }

    @Test
    void refusesBiasesAndOtherActivations() throws IOException {
        HuggingFaceWriter.of(new RandomWeights(MHA_TIED, 1)).editConfig(config -> config.put("mlp_bias", true))
                .write(dir);
        assertError(dir.resolve("config.json") + " sets mlp_bias = true");
        HuggingFaceWriter.of(new RandomWeights(MHA_TIED, 1)).editConfig(config -> config.put("hidden_act", "gelu"))
                .write(dir);
        assertError(dir.resolve("config.json") + " sets hidden_act = gelu");
    }

    @Test
    void fillsTransformersDefaults() throws IOException {
        HuggingFaceWriter.of(new RandomWeights(MHA_TIED, 1)).editConfig(config -> {
            config.remove(List.of("num_key_value_heads", "head_dim", "rope_theta", "rope_scaling", "bos_token_id",
                    "eos_token_id", "architectures"));
        }).write(dir);
        LlamaConfig config = HuggingFaceCheckpoint.readConfig(dir);
        assertEquals(6, config.kvHeads());
        assertEquals(8, config.headDim());
        assertEquals(10000.0, config.ropeTheta());
        assertEquals(1, config.bosId());
        assertArrayEquals(new int[] {2}, config.eosIds());
    }

    @Test
    void ignoresLmHeadWhenTied() throws IOException {
        RandomWeights untied = new RandomWeights(GQA_UNTIED, 2);
        HuggingFaceWriter.of(untied).tieWordEmbeddings(true).write(dir);
        try (HuggingFaceCheckpoint model = HuggingFaceCheckpoint.open(dir)) {
            assertTrue(model.config().tiedEmbeddings());
            assertThrows(IllegalArgumentException.class, () -> model.tensor("output"));
        }
    }

    @Test
    void writesLmHeadFromTiedEmbeddingsWhenUntied() throws IOException {
        RandomWeights tied = new RandomWeights(MHA_TIED, 2);
        HuggingFaceWriter.of(tied).tieWordEmbeddings(false).write(dir);
        try (HuggingFaceCheckpoint model = HuggingFaceCheckpoint.open(dir)) {
            assertArrayEquals(tied.tensor("tok_embeddings").toArray(), model.tensor("output").toArray());
        }
    }

    @Test
    void refusesAMissingTensor() throws IOException {
        HuggingFaceWriter.of(new RandomWeights(GQA_UNTIED, 1)).omitTensor("model.layers.1.mlp.down_proj.weight")
                .write(dir);
        assertError("tensor model.layers.1.mlp.down_proj.weight is missing from " + dir.resolve("model.safetensors"));
    }

    @Test
    void refusesAMissingLmHeadWhenUntied() throws IOException {
        HuggingFaceWriter.of(new RandomWeights(GQA_UNTIED, 1)).omitTensor("lm_head.weight").shards(2).write(dir);
        assertError("tensor lm_head.weight is missing from " + dir + "'s safetensors files; config.json sets"
                + " tie_word_embeddings=false");
    }

    @Test
    void refusesAMisShapedTensor() throws IOException {
        HuggingFaceWriter.of(new RandomWeights(GQA_UNTIED, 1))
                .editConfig(config -> config.put("num_key_value_heads", 4)).write(dir);
        assertError("tensor model.layers.0.self_attn.k_proj.weight in " + dir.resolve("model.safetensors")
                + " has shape [48, 64]; config.json implies [96, 64]");
    }

    @Test
    void refusesUnsupportedDtypes() throws IOException {
        for (String dtype : new String[] {"I8", "F8_E4M3"}) {
            HuggingFaceWriter.of(new RandomWeights(MHA_TIED, 1)).storeAs("model.layers.2.mlp.up_proj.weight", dtype)
                    .write(dir);
            assertError("tensor model.layers.2.mlp.up_proj.weight in " + dir.resolve("model.safetensors")
                    + " has dtype " + dtype + "; Nightshift reads F32, F16, BF16");
        }
    }

    @Test
    void refusesATruncatedSafetensorsFile() throws IOException {
        HuggingFaceWriter.of(new RandomWeights(MHA_TIED, 1)).shards(2).write(dir);
        Path shard = dir.resolve("model-00002-of-00002.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(shard.toFile(), "rw")) {
            raf.setLength(raf.length() - 10);
        }
        assertError("truncated safetensors file " + shard + ": tensor model.norm.weight ends at byte");
    }

    @Test
    void refusesACorruptHeader() throws IOException {
        HuggingFaceWriter.of(new RandomWeights(MHA_TIED, 1)).write(dir);
        Path file = dir.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(8);
            raf.write('[');
        }
        assertError("corrupt safetensors header JSON in " + file);
    }

    @Test
    void refusesOtherArchitectures() throws IOException {
        HuggingFaceWriter.of(new RandomWeights(MHA_TIED, 1)).editConfig(config -> {
            config.putArray("architectures").add("MistralForCausalLM");
            config.put("model_type", "mistral");
        }).write(dir);
        assertError("unsupported architecture MistralForCausalLM in " + dir.resolve("config.json")
                + "; Nightshift converts Llama models");
    }

    @Test
    void refusesOtherRopeScalingTypes() throws IOException {
        HuggingFaceWriter.of(new RandomWeights(MHA_TIED, 1))
                .editConfig(config -> config.putObject("rope_scaling").put("type", "yarn").put("factor", 4.0))
                .write(dir);
        assertError("unsupported rope_scaling type yarn in " + dir.resolve("config.json"));
    }

    @Test
    void refusesAFolderWithoutConfig() throws IOException {
        Files.createDirectories(dir);
        assertError(dir + " has no config.json");
    }

    @Test
    void readsTensorsBeyondTwoGigabytes() throws IOException {
        // A sparse 2.2 GB file: an unused 2.1 GB tensor first, so the model's tensors start past 2^31.
        HuggingFaceWriter.of(new RandomWeights(MHA_TIED, 9)).write(dir);
        Path small = dir.resolve("model.safetensors");
        byte[] original = Files.readAllBytes(small);
        long headerLength = ByteBuffer.wrap(original, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(original, 8, (int) headerLength, StandardCharsets.UTF_8).trim();
        long padBytes = 2_200_000_000L;
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(header);
        root.properties().forEach(entry -> {
            if (entry.getValue().has("data_offsets")) {
                ArrayNode offsets = (ArrayNode) entry.getValue().get("data_offsets");
                offsets.set(0, offsets.get(0).asLong() + padBytes);
                offsets.set(1, offsets.get(1).asLong() + padBytes);
            }
        });
        ObjectNode padding = root.putObject("padding").put("dtype", "F32");
        padding.putArray("shape").add(padBytes / 4);
        padding.putArray("data_offsets").add(0).add(padBytes);
        byte[] newHeader = json.writeValueAsBytes(root);
        try (RandomAccessFile raf = new RandomAccessFile(small.toFile(), "rw")) {
            raf.setLength(0);
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(newHeader.length).array());
            raf.write(newHeader);
            raf.seek(8 + newHeader.length + padBytes);
            raf.write(original, (int) (8 + headerLength), (int) (original.length - 8 - headerLength));
        }
        try (HuggingFaceCheckpoint model = HuggingFaceCheckpoint.open(dir)) {
            WeightSourceAssertions.assertSameWeights(new RandomWeights(MHA_TIED, 9), model, "F32");
        }
    }

    private void assertError(String expectedStart) {
        String message = assertThrows(CheckpointException.class, () -> HuggingFaceCheckpoint.open(dir)).getMessage();
        assertTrue(message.startsWith(expectedStart), "expected a message starting with <" + expectedStart
                + ">, got <" + message + ">");
    }
}
