package dev.nightshift.toolchain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.SharedFiles;
import dev.nightshift.model.Llama2cCheckpoint;
import dev.nightshift.model.LlamaConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** stories260K converted to fp32 ONNX reproduces llama2.c's reference logits and greedy tokens. */
class Stories260KFidelityTest {

    @TempDir
    static Path work;
    static Path model;
    static LlamaConfig config;
    static JsonNode reference;

    @BeforeAll
    static void convert() throws Exception {
        reference = new ObjectMapper().readTree(SharedFiles.storiesReference().toFile());
        model = work.resolve("stories-fp32");
        Files.createDirectories(model);
        try (Llama2cCheckpoint checkpoint = Llama2cCheckpoint.open(SharedFiles.stories260K())) {
            config = checkpoint.config();
            new LlamaOnnxWriter(checkpoint, ConversionOptions.of(Precision.FP32), null).write(model);
        }
    }

    @Test
    void logitsMatchReferenceWithin1e4() throws Exception {
        double worst = 0;
        for (JsonNode testCase : reference.get("cases")) {
            List<Integer> ids = ids(testCase.get("prompt_ids"));
            ids.addAll(ids(testCase.get("generated_ids")));
            try (OnnxLlama llama = new OnnxLlama(model, config.layers(), config.kvHeads(), config.headDim())) {
                int fed = 0;
                for (JsonNode debug : testCase.get("logits_debug")) {
                    int pos = debug.get("pos").asInt();
                    float[] logits = null;
                    while (fed <= pos) {
                        logits = llama.forward(ids.get(fed++));
                    }
                    JsonNode first8 = debug.get("first8");
                    for (int i = 0; i < 8; i++) {
                        double diff = Math.abs(first8.get(i).asDouble() - logits[i]);
                        worst = Math.max(worst, diff);
                        assertEquals(first8.get(i).asDouble(), logits[i], 1e-4, "case '" + testCase.get("prompt").asText() + "' pos " + pos + " logit " + i);
                    }
                }
            }
        }
        System.out.println("stories260K fp32 worst |logit - reference| = " + worst);
    }

    @Test
    void greedyLoopReproducesEveryReferenceCase() throws Exception {
        for (JsonNode testCase : reference.get("cases")) {
            List<Integer> prompt = ids(testCase.get("prompt_ids"));
            List<Integer> expected = ids(testCase.get("generated_ids"));
            List<Integer> generated = new ArrayList<>();
            try (OnnxLlama llama = new OnnxLlama(model, config.layers(), config.kvHeads(), config.headDim())) {
                float[] logits = llama.forward(prompt.stream().mapToInt(Integer::intValue).toArray());
                while (generated.size() < expected.size()) {
                    int next = OnnxLlama.argmax(logits);
                    generated.add(next);
                    logits = llama.forward(next);
                }
            }
            assertEquals(expected, generated, "case '" + testCase.get("prompt").asText() + "'");
        }
    }

    static List<Integer> ids(JsonNode array) {
        List<Integer> ids = new ArrayList<>();
        array.forEach(id -> ids.add(id.asInt()));
        return ids;
    }
}
