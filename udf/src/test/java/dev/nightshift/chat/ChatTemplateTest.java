package dev.nightshift.chat;

import dev.nightshift.engine.ModelFolder;

import static dev.nightshift.chat.ChatMessage.assistant;
import static dev.nightshift.chat.ChatMessage.system;
import static dev.nightshift.chat.ChatMessage.user;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.SharedFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ChatTemplateTest {

    /** The conversation every README under shared/models/thirdparty renders. */
    private static final List<ChatMessage> FOUR = List.of(system("You are a helpful assistant."), user("Hello!"),
            assistant("Hi there."), user("What is 2+2?"));
    private static final Map<String, Object> README_ARGS = Map.of("bos_token", "<|begin_of_text|>",
            "date_string", "26 Jul 2024");
    private static final Clock JULY_26_2024 = Clock.fixed(Instant.parse("2024-07-26T12:00:00Z"), ZoneOffset.UTC);
    private static final Clock MARCH_4_2025 = Clock.fixed(Instant.parse("2025-03-04T05:06:07Z"), ZoneOffset.UTC);
    private static final String GENERATION_PROMPT = "<|start_header_id|>assistant<|end_header_id|>\n\n";

    private static Path thirdParty(String folder) {
        return SharedFiles.get("models/thirdparty/" + folder);
    }

    /** The expected rendering of a folder's README: its one fenced block holding a JSON string. */
    private static String readmeRendering(String folder) throws IOException {
        String readme = Files.readString(thirdParty(folder).resolve("README.md"));
        Matcher block = Pattern.compile("```\\n(\"[^\\n]*\")\\n```").matcher(readme);
        List<String> found = new ArrayList<>();
        while (block.find()) {
            found.add(new ObjectMapper().readValue(block.group(1), String.class));
        }
        assertEquals(1, found.size(), folder + "/README.md should hold exactly one rendering as a JSON string");
        return found.get(0);
    }

    @Test
    void llama3OriginalTemplateFromTokenizerConfig() throws IOException {
        String folder = "meta-llama-3-8b-instruct-tokenizer-config";
        ChatTemplate template = ModelFolder.of(thirdParty(folder)).requireChatTemplate();
        assertEquals("<|begin_of_text|>", template.specialTokens().get("bos_token"));
        assertEquals("<|end_of_text|>", template.specialTokens().get("eos_token"));
        // The README passed bos_token only; tokenizer_config.json supplies the same value.
        String expected = readmeRendering(folder);
        assertEquals(expected, template.render(FOUR, true));
        assertEquals(expected.substring(0, expected.length() - GENERATION_PROMPT.length()), template.render(FOUR, false));
    }

    @Test
    void unslothLlama32TemplateWithRawNewlines() throws IOException {
        String folder = "unsloth-llama-3.2-1b-tokenizer-config";
        ChatTemplate template = ModelFolder.of(thirdParty(folder)).requireChatTemplate();
        String expected = readmeRendering(folder);
        assertEquals(expected, template.render(FOUR, true, README_ARGS));
        // README: "Without date_string, the date line reads Today Date: 26 July 2024."
        assertEquals(expected.replace("Today Date: 26 Jul 2024", "Today Date: 26 July 2024"),
                template.render(FOUR, true, Map.of("bos_token", "<|begin_of_text|>")));
    }

    @Test
    void llama31TemplateFile() throws IOException {
        String folder = "meta-llama-3.1-8b-instruct-chat-template";
        ChatTemplate template = ModelFolder.of(thirdParty(folder)).requireChatTemplate();
        assertTrue(template.source().endsWith("chat_template.jinja"), template.source());
        String expected = readmeRendering(folder);
        assertEquals(expected, template.render(FOUR, true, README_ARGS));
        // README: "The template's own default date is also 26 Jul 2024."
        assertEquals(expected, template.render(FOUR, true, Map.of("bos_token", "<|begin_of_text|>")));
    }

    @Test
    void llama32TemplateFileTakesTheDateFromTheClock() throws IOException {
        String folder = "meta-llama-3.2-3b-instruct-chat-template";
        ChatTemplate template = ModelFolder.of(thirdParty(folder)).requireChatTemplate();
        String expected = readmeRendering(folder);
        assertEquals(expected, template.render(FOUR, true, README_ARGS));
        // Without date_string the template calls strftime_now("%d %b %Y"), as transformers defines it.
        Map<String, Object> bosOnly = Map.of("bos_token", "<|begin_of_text|>");
        assertEquals(expected, template.withClock(JULY_26_2024).render(FOUR, true, bosOnly));
        assertEquals(expected.replace("Today Date: 26 Jul 2024", "Today Date: 04 Mar 2025"),
                template.withClock(MARCH_4_2025).render(FOUR, true, bosOnly));
    }

    @Test
    void llama2TemplateOfTheOrtGenaiModels() throws IOException {
        // The READMEs give no rendering for this template. Expected value: Python jinja2 3.1.6 set up as transformers
        // sets it up (as the READMEs describe), with the tokenizer config's special tokens.
        String expected = "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello! [/INST] Hi there. </s>"
                + "<s>[INST] What is 2+2? [/INST]";
        for (String folder : List.of("ortgenai-tiny-random-LlamaForCausalLM-fp32", "ortgenai-tiny-random-LlamaForCausalLM-fp16")) {
            ChatTemplate template = ModelFolder.of(thirdParty(folder)).requireChatTemplate();
            assertEquals(expected, template.render(FOUR, true), folder);
        }
    }

    @Test
    void raiseExceptionReachesTheCaller() throws IOException {
        Path folder = thirdParty("ortgenai-tiny-random-LlamaForCausalLM-fp32");
        ChatTemplate template = ModelFolder.of(folder).requireChatTemplate();
        ChatTemplate.RenderException e = assertThrows(ChatTemplate.RenderException.class,
                () -> template.render(List.of(user("a"), user("b")), true));
        assertTrue(e.getMessage().contains("Conversation roles must alternate user/assistant/user/assistant/..."),
                e.getMessage());
        assertTrue(e.getMessage().contains(folder.resolve("tokenizer_config.json").toString()), e.getMessage());
    }

    @Test
    void aFolderWithoutATemplateSaysWhatToDo(@TempDir Path empty) throws IOException {
        Path gpt2 = thirdParty("ortgenai-tiny-random-gpt2-fp32");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFolder.of(gpt2).requireChatTemplate());
        assertTrue(e.getMessage().contains(gpt2.resolve("tokenizer_config.json") + " has no \"chat_template\""),
                e.getMessage());
        assertTrue(e.getMessage().contains("formatted by hand"), e.getMessage());
        assertTrue(e.getMessage().contains(gpt2.resolve("chat_template.jinja").toString()), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> ModelFolder.of(empty).requireChatTemplate());
        assertTrue(e.getMessage().contains("there is no " + empty.resolve("tokenizer_config.json")), e.getMessage());
    }

    @Test
    void namedTemplatesUseDefault(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>",
                 "chat_template": [{"name": "tool_use", "template": "tools"},
                                   {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}]}
                """);
        assertEquals("<B>hi<E>", ModelFolder.of(dir).requireChatTemplate().render(List.of(user("hi")), false));

        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "rag", "template": "rag"}]}
                """);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFolder.of(dir).requireChatTemplate());
        assertTrue(e.getMessage().contains("no template named \"default\" (it has [tool_use, rag])"), e.getMessage());
    }

    @Test
    void chatTemplateJinjaWinsAndSpecialTokensMapOverrides(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": \"<old>\", \"chat_template\": \"from the config\"}");
        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"bos_token\": {\"content\": \"<new>\"}}");
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ bos_token }}{{ messages[0]['content'] }}\n");
        ChatTemplate template = ModelFolder.of(dir).requireChatTemplate();
        assertEquals(dir.resolve("chat_template.jinja").toString(), template.source());
        // Jinja drops the source's one trailing newline.
        assertEquals("<new>x", template.render(List.of(user("x")), false));
    }

    @Test
    void aFailedRenderNamesTheTemplate() {
        // fails only from the second message on, so it passes the one-message trial render at load
        ChatTemplate template = ChatTemplate.of("{{ messages[0].content }}{% if messages|length > 1 %}{{ nosuch(1) }}{% endif %}",
                "my-template.jinja", Map.of());
        ChatTemplate.RenderException e = assertThrows(ChatTemplate.RenderException.class,
                () -> template.render(List.of(user("x"), assistant("y")), false));
        assertTrue(e.getMessage().contains("my-template.jinja"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> template.render(List.of(), false));
    }

    @Test
    void constructsJinjavaWouldGetSilentlyWrongFailAtLoad() {
        for (String bad : List.of("{{ messages | nosuchfilter }}", "{% if 1 is nosuchtest %}x{% endif %}",
                "{% for m in messages if m.role != 'system' %}{{ m.content }}{% endfor %}", "{% if %}")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ChatTemplate.of(bad, "bad.jinja", Map.of()), bad);
            assertTrue(e.getMessage().contains("bad.jinja"), e.getMessage());
        }
        // '|' inside string literals is not a filter
        assertEquals("<|eot_id|>", ChatTemplate.of("{{ '<|eot_id|>' }}", "ok", Map.of()).render(FOUR, false));
    }

    /**
     * Python Jinja semantics that jinjava lacks or gets wrong out of the box. Expected values: Python jinja2 3.1.6 set
     * up as transformers sets it up (trim_blocks, lstrip_blocks, loopcontrols, its tojson, raise_exception and
     * strftime_now), rendering FOUR with bos_token "<s>" at 2025-03-04 05:06:07.
     */
    static Stream<Arguments> pythonSemantics() {
        return Stream.of(
                Arguments.of("{{ '  a b  '.strip() }}|{{ 'x'.lstrip() }}|{{ ' \u00a0y\u00a0 '.rstrip() }}|{{ 'xxhixx'.strip('x') }}",
                        "a b|x| \u00a0y|hi"),
                Arguments.of("[{{ ' \u00a0a\u3000 ' | trim }}]", "[a]"),
                Arguments.of("{{ 'a.b.c'.split('.') | join('/') }}|{{ ' a  b '.split() | length }}|{{ 'a b c  '.split(None, 1)[1] }}|{{ 'a,b,c'.split(',', 1) | join('+') }}",
                        "a/b/c|2|b c  |a+b,c"),
                Arguments.of("{{ {'b': [1, 2.5, none, true, 'x'], 'a': {}, 'c': []} | tojson(indent=2) }}",
                        "{\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true,\n    \"x\"\n  ],\n  \"a\": {},\n  \"c\": []\n}"),
                Arguments.of("{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}|{{ '\u00e9\u2028\u0001\"' | tojson }}|{{ '\u00e9' | tojson(ensure_ascii=true) }}",
                        "{\"a\": 2, \"b\": 1}|\"\u00e9\u2028\\u0001\\\"\"|\"\\u00e9\""),
                Arguments.of("{{ [1e-7, 1e16, 123456789.0, 0.1, -2.0, 1e15] | tojson }}",
                        "[1e-07, 1e+16, 123456789.0, 0.1, -2.0, 1000000000000000.0]"),
                Arguments.of("{% set ns = namespace(n=0, s='') %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% set ns.s = ns.s ~ m.role[0] %}{% endfor %}{{ ns.n }}{{ ns.s }}",
                        "4suau"),
                Arguments.of("{% for m in messages %}{% if loop.first %}[{% endif %}{{ loop.index }}/{{ loop.length }}{% if not loop.last %},{% else %}]{% endif %}{% endfor %}",
                        "[1/4,2/4,3/4,4/4]"),
                Arguments.of("{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}{{ m.role }}{% if m.role == 'assistant' %}{% break %}{% endif %}{% endfor %}",
                        "userassistant"),
                Arguments.of("  {% if true %}\n    x\n  {% endif %}\n  {# c #}\n  y  \n{%- if true -%}\n  z\n{%- endif %}\n\n",
                        "    x\n  yz"),
                Arguments.of("{%- for m in messages -%}\n  {{- m.role -}}\n{%- endfor -%}", "systemuserassistantuser"),
                Arguments.of("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S') }}|{{ strftime_now('%B %A') }}",
                        "04 Mar 2025|2025-03-04 05:06:07|March Tuesday"),
                Arguments.of("{% for k, v in {'a': 1, 'b': 2} | items %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;"),
                Arguments.of("{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}|{% for k, v in {'x': 1}.items() %}{{ k }}{{ v }}{% endfor %}",
                        "xy|x1"),
                Arguments.of("{{ 'abc'[1:] }}{{ 'abc'[-1] }}", "bcc"),
                Arguments.of("{{ messages | selectattr('role', 'equalto', 'user') | list | length }}{{ messages | map(attribute='role') | join(',') }}",
                        "2system,user,assistant,user"),
                Arguments.of("{% if not [1] | length == 1 %}T{% else %}F{% endif %}|{% if not [1,2] | length == 1 %}T{% else %}F{% endif %}",
                        "F|T"),
                Arguments.of("{% if 'a' in 'abc' and not 'z' in 'abc' %}T{% else %}F{% endif %}|{% if not 'a' == 'b' and 1 %}T{% else %}F{% endif %}|{% if not (true or false) %}T{% else %}F{% endif %}",
                        "T|T|F"),
                Arguments.of("{% if not x is defined %}T{% endif %}|{% if not bos_token is none %}T{% endif %}|{% if 'z' not in 'abc' %}T{% endif %}|{% if not not 1 %}T{% endif %}",
                        "T|T|T|T"),
                Arguments.of("{{ 1 + 2 * 3 - 4 / 2 }}|{{ 2 ** 3 }}|{{ 7 // 2 }}|{{ 7 % 3 }}|{{ -1 }}", "5.0|8|3|1|-1"));
    }

    @Test
    void generationTagRendersItsBody() {
        // transformers' AssistantTracker extension: outside assistant-mask tracking it just renders the block.
        ChatTemplate template = ChatTemplate.of("{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}"
                + "{{ m.content }}{% endgeneration %}{% endif %}{% endfor %}", "test", Map.of());
        assertEquals("Hi there.", template.render(FOUR, false));
    }

    @ParameterizedTest
    @MethodSource("pythonSemantics")
    void matchesPythonJinja(String template, String expected) {
        ChatTemplate compiled = ChatTemplate.of(template, "test", Map.of("bos_token", "<s>")).withClock(MARCH_4_2025);
        assertEquals(expected, compiled.render(FOUR, false));
    }
}
