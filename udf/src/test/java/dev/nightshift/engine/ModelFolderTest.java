package dev.nightshift.engine;

import dev.nightshift.chat.ChatMessage;
import static dev.nightshift.chat.ChatMessage.user;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model-folder contract, from config files written here: no ONNX Runtime, no tokenizer. */
class ModelFolderTest {

    @TempDir
    Path dir;

    private Path folder(String name) throws IOException {
        return Files.createDirectories(dir.resolve(name));
    }

    private static void write(Path folder, String file, String text) throws IOException {
        Files.writeString(folder.resolve(file), text);
    }

    @Test
    void theCardComesFromTheConfigs() throws Exception {
        Path model = folder("tiny-llama");
        write(model, ModelFolder.GENAI_CONFIG, "{\"model\": {\"context_length\": 512, \"vocab_size\": 320}}");
        write(model, ModelFolder.CONFIG, "{\"max_position_embeddings\": 4096, \"vocab_size\": 999}");
        write(model, ModelFolder.TOKENIZER_CONFIG, "{\"chat_template\": \"{{ messages[0]['content'] }}\"}");

        ModelCard card = ModelFolder.open(model).card();
        assertEquals("tiny-llama", card.id());
        assertEquals(512, card.contextLength(), "genai_config.json wins over config.json");
        assertEquals(320, card.vocabSize());
        assertTrue(card.hasChatTemplate());
        assertNull(card.templateProblem());
        assertEquals(ModelFolder.of(model).fingerprint(), card.fingerprint());
        assertEquals(16, card.fingerprint().length());

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(card);
        }
        try (ObjectInputStream in = new ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(card, in.readObject(), "the card travels to executors");
        }
    }

    @Test
    void configJsonAndDefaultsFillWhatGenaiConfigLeavesOut() throws Exception {
        Path hf = folder("hf");
        write(hf, ModelFolder.CONFIG, "{\"max_position_embeddings\": 4096, \"vocab_size\": 32000, \"bos_token_id\": 7}");
        ModelFolder folder = ModelFolder.open(hf);
        assertEquals(4096, folder.contextLength());
        assertEquals(32000, folder.vocabSize());
        assertEquals(7, folder.bosTokenId());
        assertFalse(folder.card().hasChatTemplate());

        ModelFolder bare = ModelFolder.open(folder("bare"));
        assertEquals(2048, bare.contextLength());
        assertEquals(0, bare.vocabSize());
        assertEquals(1, bare.bosTokenId());
        assertEquals(5, bare.padTokenId(5));
        assertEquals(Set.of(), bare.configEosIds());
        assertEquals(List.of(), bare.declaredEosTokens());
        assertEquals(Map.of(), bare.specialTokens());
        assertEquals(Optional.empty(), bare.addBosToken());
    }

    @Test
    void everyDeclaredEndOfSequenceIsCounted() throws Exception {
        Path model = folder("eos");
        write(model, ModelFolder.GENAI_CONFIG, "{\"model\": {\"eos_token_id\": [2, 3], \"pad_token_id\": 0}}");
        write(model, ModelFolder.CONFIG, "{\"eos_token_id\": 4}");
        write(model, ModelFolder.GENERATION_CONFIG, "{\"eos_token_id\": [3, 5]}");
        write(model, ModelFolder.TOKENIZER_CONFIG, "{\"eos_token\": {\"content\": \"<|eot_id|>\"}, \"add_bos_token\": false}");
        write(model, ModelFolder.SPECIAL_TOKENS_MAP, "{\"eos_token\": [\"</s>\", {\"content\": \"<end>\"}]}");
        ModelFolder folder = ModelFolder.open(model);
        assertEquals(List.of(2, 3, 4, 5), List.copyOf(folder.configEosIds()), "genai, config, generation, in order");
        assertEquals(List.of("<|eot_id|>", "</s>", "<end>"), folder.declaredEosTokens());
        assertEquals(0, folder.padTokenId(2));
        assertEquals(Optional.of(false), folder.addBosToken());
        assertEquals("</s>", folder.specialTokens().get("eos_token") instanceof List<?> l ? l.get(0) : null,
                "special_tokens_map.json overrides tokenizer_config.json");
    }

    @Test
    void chatTemplateJinjaWinsOverTheConfigEntry() throws Exception {
        Path model = folder("templates");
        write(model, ModelFolder.TOKENIZER_CONFIG, "{\"bos_token\": \"<B>\", \"chat_template\": \"config:{{ bos_token }}\"}");
        ModelFolder folder = ModelFolder.open(model);
        assertEquals(model.resolve(ModelFolder.TOKENIZER_CONFIG) + " \"chat_template\"",
                folder.chatTemplateSource().orElseThrow().source());
        assertEquals("config:<B>", folder.requireChatTemplate().render(List.of(user("hi")), false));

        write(model, ModelFolder.CHAT_TEMPLATE, "file:{{ bos_token }}{{ messages[0]['content'] }}");
        assertEquals(model.resolve(ModelFolder.CHAT_TEMPLATE).toString(), folder.chatTemplateSource().orElseThrow().source());
        assertEquals("file:<B>hi", folder.requireChatTemplate().render(List.of(user("hi")), false));
    }

    @Test
    void aListOfTemplatesUsesTheDefaultOne() throws Exception {
        Path model = folder("named");
        write(model, ModelFolder.TOKENIZER_CONFIG, "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"},"
                + " {\"name\": \"default\", \"template\": \"D\"}]}");
        ModelFolder.TemplateSource source = ModelFolder.open(model).chatTemplateSource().orElseThrow();
        assertEquals("D", source.text());
        assertTrue(source.source().endsWith("\"chat_template\" (\"default\")"), source.source());

        write(model, ModelFolder.TOKENIZER_CONFIG, "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}]}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelFolder.open(model).chatTemplateSource());
        assertTrue(e.getMessage().contains("has no template named \"default\" (it has [tool_use])"), e.getMessage());
    }

    @Test
    void aBrokenTemplateIsOnTheCardNotThrown() throws Exception {
        Path model = folder("broken");
        write(model, ModelFolder.CHAT_TEMPLATE, "{% for m in messages %}{{ m.content }");
        ModelCard card = ModelFolder.open(model).card();
        assertTrue(card.hasChatTemplate());
        assertTrue(card.chatTemplateProblem().orElseThrow().contains(model.resolve(ModelFolder.CHAT_TEMPLATE).toString()),
                card.templateProblem());
        assertThrows(IllegalArgumentException.class, () -> ModelFolder.open(model).chatTemplate());
    }

    @Test
    void missingFilesAreNamedWithTheFix() throws Exception {
        Path missing = dir.resolve("nowhere");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFolder.open(missing));
        assertEquals("model folder " + missing + " does not exist (or is not a folder); convert a checkpoint with "
                + "`nightshift convert --from CHECKPOINT --to " + missing + "`", e.getMessage());

        Path empty = folder("empty");
        ModelFolder folder = ModelFolder.open(empty);
        e = assertThrows(IllegalArgumentException.class, folder::requireModel);
        assertEquals("model folder " + empty + " has no model.onnx; convert a checkpoint with "
                + "`nightshift convert --from CHECKPOINT --to " + empty + "`", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, folder::requireTokenizer);
        assertEquals("model folder " + empty + " has no tokenizer.json; run `nightshift convert` or copy the tokenizer files",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, folder::requireChatTemplate);
        assertTrue(e.getMessage().contains("there is no " + empty.resolve(ModelFolder.TOKENIZER_CONFIG)), e.getMessage());

        write(empty, ModelFolder.MODEL, "graph");
        write(empty, ModelFolder.TOKENIZER, "{}");
        assertEquals(empty.resolve("model.onnx"), folder.requireModel());
        assertEquals(empty.resolve("tokenizer.json"), folder.requireTokenizer());
    }

    @Test
    void aGenaiConfigThatDisagreesWithTheGraphIsRefused() throws Exception {
        Path model = folder("mixed");
        write(model, ModelFolder.GENAI_CONFIG, "{\"model\": {\"vocab_size\": 320, \"decoder\": {\"num_hidden_layers\": 5,"
                + " \"num_key_value_heads\": 4, \"head_size\": 8, \"hidden_size\": 64}}}");
        ModelFolder folder = ModelFolder.open(model);
        folder.checkGraph(5, 4, 8, 320);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> folder.checkGraph(7, 4, 8, 320));
        assertTrue(e.getMessage().startsWith("genai_config.json in " + model + " does not match model.onnx"), e.getMessage());
        assertEquals(new ModelFolder.DecoderShape(5, 4, 8, 64, 320, ""), folder.decoderShape());

        write(model, ModelFolder.GENAI_CONFIG, "{not json");
        e = assertThrows(IllegalArgumentException.class, folder::contextLength);
        assertTrue(e.getMessage().startsWith("cannot parse " + model.resolve(ModelFolder.GENAI_CONFIG)), e.getMessage());
    }

    @Test
    void theFingerprintCoversEveryVisibleFile() throws Exception {
        Path model = folder("print");
        write(model, ModelFolder.TOKENIZER, "{}");
        ModelFolder folder = ModelFolder.open(model);
        String before = folder.fingerprint();
        write(model, ".hidden", "x");
        assertEquals(before, folder.fingerprint());
        write(model, ModelFolder.CHAT_TEMPLATE, "{{ 1 }}");
        assertNotEquals(before, folder.fingerprint());
    }

    @Test
    void sha256PartsAreLengthPrefixed() {
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Sha256.hex(new byte[0]));
        assertNotEquals(Sha256.hexOfParts("ab", "c"), Sha256.hexOfParts("a", "bc"));
        assertNotEquals(Sha256.hexOfParts((String) null), Sha256.hexOfParts("null"));
    }
}
