package dev.nightshift.chat;

import dev.nightshift.engine.ModelFolder;

import static dev.nightshift.chat.ChatMessage.assistant;
import static dev.nightshift.chat.ChatMessage.user;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.SharedFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Templates that Python's jinja2 (as transformers sets it up: sandboxed, default Undefined) rejects are rejected here
 * too: syntax errors at load, naming the file and key; runtime errors (undefined attributes, str + int) at render, as
 * per-row RenderExceptions, or at load when even a one-message conversation fails. Expected values are jinja2 3.1's.
 */
class ChatTemplateErrorsTest {

    private static final String MALFORMED = "{{ bos_token }}{{ messages[0]['content'] }";
    private static final List<ChatMessage> TWO = List.of(user("Hello"), assistant("Hi"));

    @TempDir
    Path dir;

    @Test
    void aMalformedPrintInTokenizerConfigIsRejectedAtLoadNamingFileAndKey() throws IOException {
        // the case: one brace missing outside a block used to render literally, dropping the document
        Files.writeString(dir.resolve(ModelFolder.TOKENIZER_CONFIG), new ObjectMapper().createObjectNode()
                .put("bos_token", "<s>").put("chat_template", MALFORMED).toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFolder.of(dir).chatTemplate());
        assertTrue(e.getMessage().contains(dir.resolve(ModelFolder.TOKENIZER_CONFIG) + " \"chat_template\""), e.getMessage());
        assertTrue(e.getMessage().contains("unexpected '}'"), e.getMessage());
    }

    @Test
    void aMalformedChatTemplateJinjaIsRejectedAtLoadNamingTheFile() throws IOException {
        Files.writeString(dir.resolve(ModelFolder.CHAT_TEMPLATE), "{% for m in messages %}{{ m.content }}{% endfor %}\n{# note");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFolder.of(dir).chatTemplate());
        assertTrue(e.getMessage().contains(dir.resolve(ModelFolder.CHAT_TEMPLATE).toString()), e.getMessage());
        assertTrue(e.getMessage().contains("missing end of comment tag") && e.getMessage().contains("line 2"), e.getMessage());
    }

    @Test
    void loadRefusesABrokenTemplateBeforeAnyRender() throws IOException {
        Files.writeString(dir.resolve(ModelFolder.CHAT_TEMPLATE), MALFORMED);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFolder.of(dir).requireChatTemplate());
        assertTrue(e.getMessage().startsWith("the chat template from " + dir.resolve(ModelFolder.CHAT_TEMPLATE)
                + " is not valid Jinja"), e.getMessage());
    }

    static Stream<Arguments> syntaxErrors() {
        return Stream.of(
                Arguments.of("{{ 'a' ", "unexpected end of template"),
                Arguments.of("x {{ messages[0].content", "unexpected end of template"),
                Arguments.of("{% if true %}x{% endif", "unexpected end of template"),
                Arguments.of("{{ 'unterminated }}", "unterminated string"),
                Arguments.of("{{ (1 + 2 }}", "unexpected '}', expected ')'"),
                Arguments.of("{{ [1, 2) }}", "unexpected ')', expected ']'"),
                // a branch no render reaches: jinja2 parses the whole template when compiling it
                Arguments.of("{% if messages|length > 5 %}{{ a b }}{% endif %}", "does not parse: expression 'a b'"),
                Arguments.of("{% if messages|length > 5 %}{% if a b %}x{% endif %}{% endif %}", "does not parse: expression 'a b'"));
    }

    @ParameterizedTest
    @MethodSource("syntaxErrors")
    void syntaxErrorsFailAtLoad(String template, String problem) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ChatTemplate.of(template, "bad.jinja", Map.of()));
        assertTrue(e.getMessage().startsWith("the chat template from bad.jinja "), e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
    }

    /** jinja2's default Undefined: printing, testing and iterating it are fine; attributes, items and calls raise. */
    static Stream<Arguments> undefinedThatRenders() {
        return Stream.of(
                Arguments.of("[{{ foo }}]", "[]"),
                Arguments.of("[{{ messages[0].nothing }}]", "[]"),
                Arguments.of("[{{ messages[0]['nothing'] }}]", "[]"),
                Arguments.of("[{{ messages[7] }}]", "[]"),
                Arguments.of("[{{ messages[0].content.nosuch }}]", "[]"),
                Arguments.of("[{{ none.x }}]", "[]"),
                Arguments.of("[{{ foo|default('d') }}|{{ 'y' if foo is defined else 'n' }}|{{ 'y' if messages[0].z is defined else 'n' }}|{{ foo|length }}]",
                        "[d|n|n|0]"),
                Arguments.of("[{% if foo %}y{% endif %}{% if messages[0].nothing %}y{% endif %}{% for x in foo %}x{% endfor %}]", "[]"),
                Arguments.of("[{{ foo ~ 'x' }}]", "[x]"));
    }

    @ParameterizedTest
    @MethodSource("undefinedThatRenders")
    void undefinedValuesRenderAsJinja2RendersThem(String template, String expected) {
        assertEquals(expected, ChatTemplate.of(template, "t.jinja", Map.of()).render(TWO, true));
    }

    static Stream<Arguments> runtimeErrors() {
        return Stream.of(
                Arguments.of("{{ foo.bar }}", "'foo' is undefined"),
                Arguments.of("{{ foo['bar'] }}", "'foo' is undefined"),
                Arguments.of("{{ foo.strip() }}", "'foo' is undefined"),
                Arguments.of("{% if foo.bar is defined %}y{% endif %}", "'foo' is undefined"),
                Arguments.of("{% if foo.bar %}y{% endif %}", "'foo' is undefined"),
                Arguments.of("{{ messages[0].nothing.deeper }}", "'dict object' has no attribute 'nothing'"),
                Arguments.of("{{ messages[5]['content'] }}", "list object has no element 5"),
                Arguments.of("{{ foo + 'x' }}", "'foo' is undefined"),
                Arguments.of("{{ 'Hi' + 1 }}", "unsupported operand type(s) for +: 'str' and 'int'"),
                Arguments.of("{{ messages[0].content + 1 }}", "unsupported operand type(s) for +: 'str' and 'int'"),
                Arguments.of("{{ 1 + 'Hi' }}", "unsupported operand type(s) for +: 'int' and 'str'"),
                Arguments.of("{{ [1] + 'a' }}", "unsupported operand type(s) for +: 'list' and 'str'"),
                Arguments.of("{{ 'a' + none }}", "unsupported operand type(s) for +: 'str' and 'NoneType'"),
                Arguments.of("{{ 'a' - 1 }}", "unsupported operand type(s) for -: 'str' and 'int'"),
                Arguments.of("{{ 'a' < 1 }}", "'<' not supported between instances of 'str' and 'int'"),
                Arguments.of("{{ 5 / 0 }}", "division by zero"));
    }

    @ParameterizedTest
    @MethodSource("runtimeErrors")
    void runtimeErrorsAreRowErrorsAndFailAtLoadWhenEveryConversationHitsThem(String expression, String problem) {
        // reached only from the second message on: loads, and each render that reaches it is a per-row error
        ChatTemplate guarded = ChatTemplate.of("{{ messages[0].content }}{% if messages|length > 1 %}" + expression
                + "{% endif %}", "t.jinja", Map.of());
        assertEquals("Hello", guarded.render(List.of(user("Hello")), true));
        ChatTemplate.RenderException row = assertThrows(ChatTemplate.RenderException.class, () -> guarded.render(TWO, true));
        assertTrue(row.getMessage().contains("t.jinja") && row.getMessage().contains(problem), row.getMessage());

        // reached by every conversation: refused when loaded
        IllegalArgumentException load = assertThrows(IllegalArgumentException.class,
                () -> ChatTemplate.of(expression, "t.jinja", Map.of()));
        assertTrue(load.getMessage().contains("fails on a one-message conversation") && load.getMessage().contains(problem),
                load.getMessage());
    }

    static Stream<Arguments> pythonOperators() {
        return Stream.of(
                Arguments.of("{{ 'Hi' ~ 1 }}", "Hi1"),
                Arguments.of("{{ 'ab' * 3 }}|{{ 2 * 'ab' }}|{{ 'ab' * 0 }}|{{ [1] * 2 }}", "ababab|abab||[1, 1]"),
                Arguments.of("{{ 'a' + 'b' }}|{{ [1] + [2] }}|{{ 1 + 2.5 }}|{{ 7 - 2 }}", "ab|[1, 2]|3.5|5"),
                Arguments.of("{% if 'a' in 'cat' and 'user' in ['user', 'system'] and 'b' < 'c' and 1 <= 2 %}T{% endif %}"
                        + "{% if 'c' < 'b' or 3 < 2 %}F{% endif %}", "T"));
    }

    @ParameterizedTest
    @MethodSource("pythonOperators")
    void operatorsFollowPython(String template, String expected) {
        assertEquals(expected, ChatTemplate.of(template, "t.jinja", Map.of()).render(TWO, false));
    }

    /** Every real template in ../shared/models/thirdparty, with the variables its model card documents. */
    static Stream<Arguments> realTemplates() throws IOException {
        Path root = SharedFiles.get("models/thirdparty");
        Map<String, Object> tokens = Map.of("bos_token", "<|begin_of_text|>", "eos_token", "<|eot_id|>");
        String llama3 = "<|start_header_id|>assistant<|end_header_id|>\n\n";
        Stream.Builder<Arguments> cases = Stream.builder();
        Path family = root.resolve("llama-family-chat-templates");
        Map<String, String> endings = Map.of(
                "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "<|im_start|>assistant\n",
                "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "<\uff5cAssistant\uff5c><think>\n",
                "fireworks-ai-llama-3-firefunction-v2.jinja", llama3,
                "meta-llama-Llama-3.3-70B-Instruct.jinja", llama3);
        try (Stream<Path> files = Files.list(family)) {
            List<Path> templates = files.filter(p -> p.toString().endsWith(".jinja")).sorted().toList();
            assertEquals(endings.keySet(), templates.stream().map(p -> p.getFileName().toString())
                    .collect(java.util.stream.Collectors.toSet()), "templates in " + family);
            for (Path file : templates) {
                // firefunction-v2 needs the functions and datetime its model card passes to apply_chat_template
                Map<String, Object> variables = new java.util.HashMap<>(tokens);
                variables.put("functions", "[]");
                variables.put("datetime", "2024-07-26");
                cases.add(Arguments.of(file.getFileName().toString(),
                        ChatTemplate.of(Files.readString(file), file.toString(), variables), endings.get(file.getFileName().toString())));
            }
        }
        for (String folder : List.of("meta-llama-3-8b-instruct-tokenizer-config", "unsloth-llama-3.2-1b-tokenizer-config",
                "meta-llama-3.1-8b-instruct-chat-template", "meta-llama-3.2-3b-instruct-chat-template")) {
            cases.add(Arguments.of(folder, ModelFolder.of(root.resolve(folder)).requireChatTemplate().withSpecialTokens(tokens), llama3));
        }
        for (String folder : List.of("ortgenai-tiny-random-LlamaForCausalLM-fp32", "ortgenai-tiny-random-LlamaForCausalLM-fp16")) {
            cases.add(Arguments.of(folder, ModelFolder.of(root.resolve(folder)).requireChatTemplate(), " [/INST]"));
        }
        return cases.build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("realTemplates")
    void everyRealTemplateRendersOneUserTurn(String name, ChatTemplate template, String generationPrompt) {
        String text = "Summarize this document: the quarterly report, ref XYZZY-42.";
        String rendered = template.render(List.of(user(text)), true);
        assertEquals(1, rendered.split(java.util.regex.Pattern.quote(text), -1).length - 1, rendered);
        assertTrue(rendered.endsWith(generationPrompt), rendered);
    }
}
