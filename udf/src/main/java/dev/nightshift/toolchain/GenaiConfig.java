package dev.nightshift.toolchain;

import dev.nightshift.engine.ModelFolder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nightshift.model.LlamaConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes {@code genai_config.json} in ONNX Runtime GenAI's schema, so our folders and the model
 * builder's exports are read by the same loader. Our own facts (last-position logits, precision)
 * go in a top-level "nightshift" section that GenAI ignores.
 */
public final class GenaiConfig {

    private GenaiConfig() {
    }

    public static void write(Path folder, LlamaOnnxWriter.WrittenModel model) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        LlamaConfig config = model.config();
        ObjectNode root = json.createObjectNode();
        ObjectNode m = root.putObject("model");
        m.put("bos_token_id", config.bosId());
        m.put("context_length", model.contextLength());
        int[] eos = config.eosIds();
        if (eos.length == 1) {
            m.put("eos_token_id", eos[0]);
        } else {
            ArrayNode list = m.putArray("eos_token_id");
            for (int id : eos) {
                list.add(id);
            }
        }
        m.put("pad_token_id", eos.length > 0 ? eos[0] : 0);
        m.put("type", "llama");
        m.put("vocab_size", config.vocabSize());
        ObjectNode decoder = m.putObject("decoder");
        decoder.put("filename", ModelFolder.MODEL);
        decoder.put("head_size", config.headDim());
        decoder.put("hidden_size", config.dim());
        decoder.put("num_attention_heads", config.heads());
        decoder.put("num_hidden_layers", config.layers());
        decoder.put("num_key_value_heads", config.kvHeads());
        ObjectNode session = decoder.putObject("session_options");
        session.put("log_id", "nightshift");
        session.putArray("provider_options");
        ObjectNode inputs = decoder.putObject("inputs");
        inputs.put("input_ids", "input_ids");
        inputs.put("attention_mask", "attention_mask");
        inputs.put("past_key_names", "past_key_values.%d.key");
        inputs.put("past_value_names", "past_key_values.%d.value");
        ObjectNode outputs = decoder.putObject("outputs");
        outputs.put("logits", "logits");
        outputs.put("present_key_names", "present.%d.key");
        outputs.put("present_value_names", "present.%d.value");
        ObjectNode search = root.putObject("search");
        search.put("do_sample", false);
        search.put("max_length", model.contextLength());
        search.put("min_length", 0);
        search.put("num_beams", 1);
        search.put("num_return_sequences", 1);
        search.put("past_present_share_buffer", true);
        search.put("repetition_penalty", 1.0);
        search.put("temperature", 1.0);
        search.put("top_k", 1);
        search.put("top_p", 1.0);
        ObjectNode ours = root.putObject("nightshift");
        for (Map.Entry<String, String> entry : model.metadata().entrySet()) {
            ours.put(entry.getKey().replace("nightshift.", ""), entry.getValue());
        }
        ours.put("interleaved_rotary", config.interleavedRotary());
        ours.put("rope_theta", config.ropeTheta());
        ours.put("tied_embeddings", config.tiedEmbeddings());
        json.writeValue(folder.resolve(ModelFolder.GENAI_CONFIG).toFile(), root);
    }
}
