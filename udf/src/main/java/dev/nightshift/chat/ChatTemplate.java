package dev.nightshift.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model's Hugging Face chat template (Jinja), rendered the way transformers' {@code apply_chat_template} renders it.
 *
 * <p>transformers compiles templates in {@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
 * extensions=[AssistantTracker, loopcontrols])} with a {@code tojson} filter ({@code json.dumps}, ensure_ascii=False) and
 * the globals {@code raise_exception(msg)} and {@code strftime_now(fmt)}; it passes the messages,
 * {@code add_generation_prompt}, {@code tools=None}, {@code documents=None} and the tokenizer's special tokens
 * (bos_token, eos_token, ...). This class sets jinjava up the same way and closes the gaps that matter for real
 * templates (see {@link PythonJinja#create}). A template is checked when it is loaded, so a bad one fails before the first row.
 * A model folder's template is found by {@link dev.nightshift.engine.ModelFolder#chatTemplate()}.
 *
 * <p>Instances are immutable and safe to share between threads (jinjava renders each call in a fresh context).
 */
public final class ChatTemplate {

    private final String template;
    private final String source;
    private final Map<String, Object> specialTokens;
    private final Clock clock;
    private final Jinjava jinjava;

    private ChatTemplate(String template, String source, Map<String, ?> specialTokens, Clock clock) {
        this.template = pythonJinjaSource(Objects.requireNonNull(template, "template"));
        this.source = Objects.requireNonNull(source, "source");
        this.specialTokens = Map.copyOf(specialTokens);
        this.clock = Objects.requireNonNull(clock, "clock");
        this.jinjava = PythonJinja.create(clock);
        check();
    }

    /**
     * A template from its text.
     *
     * @param template      the Jinja source
     * @param source        where it came from, named in error messages (a file, a config key, "--chat-template")
     * @param specialTokens bos_token, eos_token, ... as the template should see them
     */
    public static ChatTemplate of(String template, String source, Map<String, ?> specialTokens) {
        return new ChatTemplate(template, source, specialTokens, Clock.systemDefaultZone());
    }

    /** The same template with another clock for {@code strftime_now} (tests pin the date with a fixed clock). */
    public ChatTemplate withClock(Clock clock) {
        return new ChatTemplate(template, source, specialTokens, clock);
    }

    /** The same template with other special tokens. */
    public ChatTemplate withSpecialTokens(Map<String, ?> specialTokens) {
        return new ChatTemplate(template, source, specialTokens, clock);
    }

    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * Renders a conversation.
     *
     * @param variables extra template variables, applied last (so they override the special tokens): for example
     *                  {@code date_string}, or {@code bos_token} for a template file that came without a tokenizer
     *                  config
     * @throws RenderException when the template fails or calls {@code raise_exception}; the message names the template
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> variables) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("a chat needs at least one message");
        }
        List<Map<String, Object>> turns = new ArrayList<>();
        for (ChatMessage message : messages) {
            Map<String, Object> turn = new LinkedHashMap<>();
            turn.put("role", message.role());
            turn.put("content", message.content());
            turns.add(turn);
        }
        Map<String, Object> bindings = new HashMap<>(specialTokens);
        bindings.put("messages", turns);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        // In Python the two helpers are globals, so `strftime_now is defined` is true (Llama 3.2 asks exactly that).
        // jinjava functions are not variables; these stand-ins make the test come out the same.
        bindings.put("strftime_now", "<function strftime_now>");
        bindings.put("raise_exception", "<function raise_exception>");
        bindings.putAll(variables);

        RenderResult result;
        try {
            result = jinjava.renderForResult(template, bindings);
        } catch (RuntimeException e) {
            throw new RenderException("could not render the chat template from " + source + ": " + e.getMessage(), e);
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw failure(error);
            }
        }
        return result.getOutput();
    }

    /** Where the template came from (a file, or a config file and key). */
    public String source() {
        return source;
    }

    /** The template text, after the newline normalisation Python's Jinja applies. */
    public String template() {
        return template;
    }

    public Map<String, Object> specialTokens() {
        return specialTokens;
    }

    /** A chat template that failed to render or rejected its input through {@code raise_exception}. */
    public static final class RenderException extends RuntimeException {
        RenderException(String message, Throwable cause) {
            super(message, cause);
        }
    }


    /** Jinja's default: "\r\n" and "\r" read as "\n", and one trailing newline of the source is dropped. */
    private static String pythonJinjaSource(String template) {
        String source = template.replace("\r\n", "\n").replace('\r', '\n');
        return source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
    }

    private static final Pattern COMMENT = Pattern.compile("\\{#.*?#}", Pattern.DOTALL);
    private static final Pattern TAG = Pattern.compile("\\{\\{(.*?)}}|\\{%(.*?)%}", Pattern.DOTALL);
    private static final Pattern STRING_LITERAL = Pattern.compile("'(?:[^'\\\\]|\\\\.)*'|\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern FILTER_USE = Pattern.compile("\\|\\s*([A-Za-z_]\\w*)");
    private static final Pattern TEST_USE = Pattern.compile("\\bis\\s+(?:not\\s+)?([A-Za-z_]\\w*)");
    private static final Pattern LOOP_FILTER = Pattern.compile("^[-+]?\\s*for\\b.*\\bin\\b.*\\bif\\b", Pattern.DOTALL);

    /**
     * Fails now rather than per row on what jinja2 refuses to compile, and on constructs jinjava would get silently
     * wrong: unclosed tags, comments and strings (jinjava prints them as text), expressions that do not parse (jinjava
     * parses them only when a render reaches them), an unknown filter (jinjava renders "") or test (false), and a loop
     * filter ({@code {% for x in xs if c %}}, read as a conditional expression). Then renders a one-message
     * conversation, so that a template that fails on every input (an undefined attribute, {@code 'a' + 1}) fails
     * here; a {@code raise_exception} is the template's own rule about conversations and is let through.
     */
    private void check() {
        List<JinjaSyntax.Expression> expressions;
        try {
            expressions = JinjaSyntax.expressions(template);
        } catch (JinjaSyntax.SyntaxError e) {
            throw unsupported("is not valid Jinja: " + e.getMessage());
        }
        PythonJinja.PyBuilder parser = new PythonJinja.PyBuilder();
        for (JinjaSyntax.Expression expression : expressions) {
            try {
                parser.build("#{" + expression.text() + "}");
            } catch (RuntimeException e) {
                throw unsupported("does not parse: expression '" + expression.text() + "' (line " + expression.line()
                        + "): " + e.getMessage());
            }
        }
        JinjavaInterpreter interpreter = jinjava.newInterpreter();
        interpreter.parse(template);
        for (TemplateError error : interpreter.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw unsupported("does not parse: " + error.getMessage() + " (line " + error.getLineno() + ")");
            }
        }
        Matcher tag = TAG.matcher(COMMENT.matcher(template).replaceAll(""));
        while (tag.find()) {
            String code = STRING_LITERAL.matcher(tag.group(1) != null ? tag.group(1) : tag.group(2)).replaceAll("''");
            for (Matcher use = FILTER_USE.matcher(code); use.find(); ) {
                if (jinjava.getGlobalContext().getFilter(use.group(1)) == null) {
                    throw unsupported("uses the Jinja filter '" + use.group(1) + "', which this renderer does not provide");
                }
            }
            for (Matcher use = TEST_USE.matcher(code); use.find(); ) {
                if (jinjava.getGlobalContext().getExpTest(use.group(1)) == null) {
                    throw unsupported("uses the Jinja test '" + use.group(1) + "', which this renderer does not provide");
                }
            }
            if (tag.group(2) != null && LOOP_FILTER.matcher(code.strip()).find()) {
                throw unsupported("filters a loop ({% for x in xs if ... %}), which this renderer does not support: "
                        + tag.group());
            }
        }
        try {
            render(List.of(ChatMessage.user("Hello")), true);
        } catch (RenderException e) {
            if (!(e.getCause() instanceof JinjaGlobals.RaisedException)) {
                String prefix = "could not render the chat template from " + source + ": ";
                String reason = e.getMessage().startsWith(prefix) ? e.getMessage().substring(prefix.length()) : e.getMessage();
                throw unsupported("fails on a one-message conversation: " + reason);
            }
        }
    }

    private IllegalArgumentException unsupported(String problem) {
        return new IllegalArgumentException("the chat template from " + source + " " + problem);
    }

    private RenderException failure(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof JinjaGlobals.RaisedException) {
                return new RenderException("the chat template from " + source + " rejected the conversation: "
                        + t.getMessage(), t);
            }
            if (t instanceof PyExpressions.TemplateRuntimeError) {
                return new RenderException("could not render the chat template from " + source + ": " + t.getMessage()
                        + " (line " + error.getLineno() + ")", t);
            }
        }
        return new RenderException("could not render the chat template from " + source + ": " + error.getMessage()
                + " (line " + error.getLineno() + ")", error.getException());
    }
}
