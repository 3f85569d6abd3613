package dev.nightshift.engine;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.lang.reflect.Method;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.tree.TreeStore;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Cache;
import jinjava.de.odysseus.el.tree.impl.Parser;
import jinjava.de.odysseus.el.tree.impl.Scanner;
import jinjava.de.odysseus.el.tree.impl.ast.AstBinary;
import jinjava.de.odysseus.el.tree.impl.ast.AstBracket;
import jinjava.de.odysseus.el.tree.impl.ast.AstDot;
import jinjava.de.odysseus.el.tree.impl.ast.AstMethod;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstParameters;
import jinjava.de.odysseus.el.tree.impl.ast.AstProperty;
import jinjava.de.odysseus.el.tree.impl.ast.AstUnary;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;
import jinjava.javax.el.ExpressionFactory;

/**
 * A model's Hugging Face chat template (Jinja), rendered the way transformers' {@code apply_chat_template} renders it.
 *
 * <p>transformers compiles templates in {@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
 * extensions=[AssistantTracker, loopcontrols])} with a {@code tojson} filter ({@code json.dumps}, ensure_ascii=False) and
 * the globals {@code raise_exception(msg)} and {@code strftime_now(fmt)}; it passes the messages,
 * {@code add_generation_prompt}, {@code tools=None}, {@code documents=None} and the tokenizer's special tokens
 * (bos_token, eos_token, ...). This class sets jinjava up the same way and closes the gaps that matter for real
 * templates (see {@link #newJinjava}). A template is checked when it is loaded, so a bad one fails before the first row.
 * A model folder's template is found by {@link ModelFolder#chatTemplate()}.
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
        this.jinjava = newJinjava(clock);
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

    // ---------------------------------------------------------------------------------------------------------
    // jinjava set-up

    /**
     * jinjava configured like transformers' Jinja environment. Its gaps that real templates hit, and what fills them:
     * <ul>
     *   <li>Whitespace control on expressions and comments ({@code {{- x -}}}, {@code {#- c #}}) is off by default,
     *       and loops over dicts yield values: the jinjava 3.0 {@link LegacyOverrides} switch on Python's behaviour.
     *   <li>{@code not} binds tighter than {@code ==}, {@code in}, {@code is} and filters, so
     *       {@code not x|length == 1} means {@code (not x)|length == 1}; {@link PyParser} gives it Python's precedence.
     *   <li>{@code tojson} is Jackson's compact form; Python's {@code json.dumps} (", " and ": ", indent=N) replaces it.
     *   <li>{@code trim} and {@code "s".strip()} use Java's idea of whitespace; Python's {@code str.strip} replaces them
     *       (it also strips U+00A0, U+0085, U+2007, U+202F).
     *   <li>Python string methods (lstrip, rstrip, startswith, endswith, upper, lower, split) and {@code s[i]} are
     *       missing, and {@code "a.b".split(".")} would silently call Java's regex split: {@link PyStrings}.
     *   <li>The {@code items} filter (jinja2 3.1) and the {@code {% generation %}} tag (transformers' AssistantTracker)
     *       do not exist.
     *   <li>{@code raise_exception} and {@code strftime_now} are functions here (see {@link #render} for
     *       {@code is defined}); strftime_now reads the injected clock through jinjava's DateTimeProvider.
     * </ul>
     * Already right in jinjava: {@code namespace()}, {@code loop.*}, slicing, {@code in}, {@code is defined},
     * {@code +} and {@code ~} on strings, {@code set} scoping inside loops, trim_blocks and lstrip_blocks.
     */
    private static Jinjava newJinjava(Clock clock) {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PyStrings());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        LegacyOverrides python = LegacyOverrides.newBuilder()
                .withUseTrimmingForNotesAndExpressions(true) // {{- x -}} and {#- c -#}
                .withParseWhitespaceControlStrictly(true)
                .withAllowAdjacentTextNodes(true)
                .withUseNaturalOperatorPrecedence(true)      // filters bind tighter than * and +
                .withIterateOverMapKeys(true)                // {% for k in dict %} yields keys
                .withEvaluateMapKeys(true)                   // {k: v} evaluates k
                .withKeepNullableLoopValues(true)            // {% for x in [1, none] %} sees the none
                .withUsePyishObjectMapper(true)              // {{ [1, 'a'] }} prints [1, 'a']
                .build();
        Jinjava jinjava = new PythonJinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withLegacyOverrides(python)
                .withDateTimeProvider(clock::millis)
                .withTimeZone(clock.getZone())
                .withElResolver(resolver)
                .build());
        jinjava.registerFunction(function("raise_exception", String.class));
        jinjava.registerFunction(function("strftime_now", String.class));
        jinjava.registerFilter(filter("tojson", (value, args, kwargs) -> Json.dumps(value, kwargs)));
        jinjava.registerFilter(filter("trim", (value, args, kwargs) ->
                pyStrip(Objects.toString(value, ""), args.length > 0 && args[0] != null ? args[0].toString() : null, true, true)));
        jinjava.registerFilter(filter("items", (value, args, kwargs) ->
                value instanceof Map<?, ?> map ? new ArrayList<>(map.entrySet()) : List.of()));
        jinjava.registerTag(new GenerationTag());
        jinjava.registerTag(new FilterTag());
        return jinjava;
    }

    /** Jinjava with {@link PyParser} for expressions (jinjava reads the factory through this getter on every render). */
    private static final class PythonJinjava extends Jinjava {
        private final ExpressionFactory expressions = new ExpressionFactoryImpl(
                new TreeStore(new PyBuilder(), new Cache(1000)), new TruthyTypeConverter());

        PythonJinjava(JinjavaConfig config) {
            super(config);
        }

        @Override
        public ExpressionFactory getExpressionFactory() {
            return expressions;
        }
    }

    /** jinjava's expression syntax with the features its default factory enables. */
    private static final class PyBuilder extends ExtendedSyntaxBuilder {
        PyBuilder() {
            super(Builder.Feature.METHOD_INVOCATIONS, Builder.Feature.VARARGS);
        }

        @Override
        protected Parser createParser(String expression) {
            return new PyParser(this, expression);
        }
    }

    /** Python's precedence for {@code not}: it negates a whole comparison ({@code not a == b} is {@code not (a == b)}). */
    private static final class PyParser extends ExtendedParser {
        PyParser(Builder builder, String input) {
            super(builder, input);
        }

        @Override
        protected AstNode unary(boolean required) throws Scanner.ScanException, ParseException {
            if (getToken().getSymbol() == Scanner.Symbol.NOT) {
                consumeToken();
                return createAstUnary(eq(true), AstUnary.NOT);
            }
            return super.unary(required);
        }

        // Python's rules for undefined values and operand types (PyExpressions)
        @Override
        protected AstDot createAstDot(AstNode prefix, String property, boolean lvalue) {
            return new PyExpressions.PyDot(prefix, property, lvalue);
        }

        @Override
        protected AstBracket createAstBracket(AstNode prefix, AstNode property, boolean lvalue, boolean strict) {
            return new PyExpressions.PyBracket(prefix, property, lvalue, strict);
        }

        @Override
        protected AstMethod createAstMethod(AstProperty property, AstParameters params) {
            return new PyExpressions.PyMethod(property, params);
        }

        @Override
        protected AstBinary createAstBinary(AstNode left, AstNode right, AstBinary.Operator operator) {
            return PyExpressions.binary(left, right, operator);
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
        PyBuilder parser = new PyBuilder();
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
            if (!(e.getCause() instanceof RaisedException)) {
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
            if (t instanceof RaisedException) {
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

    // ---------------------------------------------------------------------------------------------------------
    // The template globals (static: jinjava calls functions through reflection)

    /** The exception {@code raise_exception(msg)} throws, so the template's own message reaches the caller. */
    private static final class RaisedException extends RuntimeException {
        RaisedException(String message) {
            super(message);
        }
    }

    @SuppressWarnings("unused") // called by templates
    private static String raise_exception(String message) {
        throw new RaisedException(message);
    }

    /** Python's {@code datetime.now().strftime(fmt)}, on the clock this template was built with. */
    @SuppressWarnings("unused") // called by templates
    private static String strftime_now(String format) {
        JinjavaConfig config = JinjavaInterpreter.getCurrent().getConfig();
        Instant now = Instant.ofEpochMilli(config.getDateTimeProvider().getCurrentTimeMillis());
        return StrftimeFormatter.format(now.atZone(config.getTimeZone()), format, Locale.US);
    }

    private static ELFunctionDefinition function(String name, Class<?>... parameters) {
        try {
            Method method = ChatTemplate.class.getDeclaredMethod(name, parameters);
            method.setAccessible(true);
            return new ELFunctionDefinition("", name, method);
        } catch (NoSuchMethodException e) {
            throw new AssertionError(e);
        }
    }

    private interface FilterBody {
        Object apply(Object value, Object[] args, Map<String, Object> kwargs);
    }

    private static Filter filter(String name, FilterBody body) {
        return new Filter() {
            @Override
            public String getName() {
                return name;
            }

            @Override
            public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
                return body.apply(var, args, kwargs);
            }

            @Override
            public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
                return body.apply(var, args, Map.of());
            }
        };
    }

    /** {@code {% generation %}...{% endgeneration %}}: marks assistant text for training masks; renders its body. */
    private static final class GenerationTag implements Tag {
        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder out = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                out.append(child.render(interpreter).getValue());
            }
            return out.toString();
        }
    }

    /**
     * jinja2's filter block, {@code {% filter trim %}...{% endfilter %}}: renders the body, then applies the filter
     * (with its arguments) to it. jinjava has no such tag; fireworks-ai's firefunction-v2 template uses it.
     */
    private static final class FilterTag implements Tag {
        private static final String BODY = "__nightshift_filter_body__";

        @Override
        public String getName() {
            return "filter";
        }

        @Override
        public String getEndTagName() {
            return "endfilter";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder body = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                body.append(child.render(interpreter).getValue());
            }
            try (JinjavaInterpreter.InterpreterScopeClosable scope = interpreter.enterScope()) {
                interpreter.getContext().put(BODY, body.toString());
                return Objects.toString(interpreter.resolveELExpression(BODY + "|" + tagNode.getHelpers().strip(),
                        tagNode.getLineNumber()), "");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Python semantics

    /** Python's {@code str.isspace()} for one character. */
    private static boolean isPySpace(char c) {
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }

    /** Python's {@code str.strip/lstrip/rstrip(chars)}; chars null means whitespace. */
    private static String pyStrip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        while (left && start < end && strippable(s.charAt(start), chars)) {
            start++;
        }
        while (right && end > start && strippable(s.charAt(end - 1), chars)) {
            end--;
        }
        return s.substring(start, end);
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? isPySpace(c) : chars.indexOf(c) >= 0;
    }

    /** Python's {@code str.split(sep=None, maxsplit=-1)}. */
    private static List<String> pySplit(String s, String sep, int maxSplit) {
        List<String> parts = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            while (true) {
                while (i < s.length() && isPySpace(s.charAt(i))) {
                    i++;
                }
                if (i == s.length()) {
                    return parts;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(s.substring(i)); // Python keeps the remainder's trailing whitespace
                    return parts;
                }
                int j = i;
                while (j < s.length() && !isPySpace(s.charAt(j))) {
                    j++;
                }
                parts.add(s.substring(i, j));
                i = j;
            }
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int from = 0;
        for (int at; (maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0; from = at + sep.length()) {
            parts.add(s.substring(from, at));
        }
        parts.add(s.substring(from));
        return parts;
    }

    /**
     * Python's str methods that chat templates call and Java's String lacks or gets subtly wrong, and {@code s[i]}.
     * Consulted before jinjava's own resolvers; anything else falls through to them (so {@code "a".replace("a", "b")}
     * stays Java's, which agrees with Python).
     */
    private static final class PyStrings extends ELResolver {
        private static final Pattern INDEX = Pattern.compile("-?\\d{1,9}");

        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
            if (!(base instanceof String s) || !(method instanceof String name)) {
                return null;
            }
            Object[] p = params == null ? new Object[0] : params;
            String arg = p.length > 0 && p[0] != null ? p[0].toString() : null;
            Object result;
            switch (name) {
                case "strip" -> result = pyStrip(s, arg, true, true);
                case "lstrip" -> result = pyStrip(s, arg, true, false);
                case "rstrip" -> result = pyStrip(s, arg, false, true);
                case "upper" -> result = s.toUpperCase(Locale.ROOT);
                case "lower" -> result = s.toLowerCase(Locale.ROOT);
                case "startswith", "endswith" -> {
                    Collection<?> options = p.length > 0 && p[0] instanceof Collection<?> c ? c : List.of(Objects.toString(arg));
                    result = options.stream().anyMatch(o -> name.equals("startswith")
                            ? s.startsWith(o.toString()) : s.endsWith(o.toString()));
                }
                case "split" -> result = pySplit(s, arg, p.length > 1 ? ((Number) p[1]).intValue() : -1);
                default -> {
                    return null;
                }
            }
            context.setPropertyResolved(true);
            return result;
        }

        @Override
        public Class<?> getCommonPropertyType(ELContext context, Object base) {
            return null;
        }

        @Override
        public java.util.Iterator<java.beans.FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
            return null;
        }

        @Override
        public Class<?> getType(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            // jinjava hands the index over as text ("0", "-1")
            if (base instanceof String s && property != null && INDEX.matcher(property.toString()).matches()) {
                int i = Integer.parseInt(property.toString());
                i = i < 0 ? i + s.length() : i;
                context.setPropertyResolved(true);
                return i >= 0 && i < s.length() ? String.valueOf(s.charAt(i)) : null;
            }
            return null;
        }

        @Override
        public boolean isReadOnly(ELContext context, Object base, Object property) {
            return true;
        }

        @Override
        public void setValue(ELContext context, Object base, Object property, Object value) {
            // not ours: leaves the property unresolved for the next resolver
        }
    }

    /**
     * transformers' {@code tojson}: {@code json.dumps(x, ensure_ascii=False, indent=None, sort_keys=False)}, with
     * Python's separators (", " and ": "; "," before a newline when indented) and Python's float repr.
     */
    private static final class Json {
        private Json() {
        }

        static String dumps(Object value, Map<String, Object> kwargs) {
            Object indent = kwargs.get("indent");
            String unit = indent instanceof Number n ? " ".repeat(n.intValue()) : indent == null ? null : indent.toString();
            StringBuilder out = new StringBuilder();
            write(out, value, unit, "", Boolean.TRUE.equals(kwargs.get("sort_keys")),
                    Boolean.TRUE.equals(kwargs.get("ensure_ascii")));
            return out.toString();
        }

        private static void write(StringBuilder out, Object value, String unit, String pad, boolean sort, boolean ascii) {
            if (value == null) {
                out.append("null");
            } else if (value instanceof Boolean || value instanceof Long || value instanceof Integer
                    || value instanceof Short || value instanceof Byte || value instanceof java.math.BigInteger) {
                out.append(value);
            } else if (value instanceof Number n) {
                out.append(pyFloat(n.doubleValue()));
            } else if (value instanceof Map<?, ?> map) {
                Map<?, ?> entries = sort ? new TreeMap<>(map) : map;
                List<Object> keys = new ArrayList<>(entries.keySet());
                open(out, '{', '}', keys.size(), unit, pad, (i, inner) -> {
                    string(out, String.valueOf(keys.get(i)), ascii);
                    out.append(": ");
                    write(out, entries.get(keys.get(i)), unit, inner, sort, ascii);
                });
            } else if (value instanceof Collection<?> || value instanceof Object[]) {
                List<?> items = value instanceof Object[] array ? java.util.Arrays.asList(array) : new ArrayList<>((Collection<?>) value);
                open(out, '[', ']', items.size(), unit, pad, (i, inner) -> write(out, items.get(i), unit, inner, sort, ascii));
            } else {
                string(out, value.toString(), ascii);
            }
        }

        private interface Item {
            void write(int index, String pad);
        }

        private static void open(StringBuilder out, char open, char close, int size, String unit, String pad, Item item) {
            out.append(open);
            if (size > 0) {
                String inner = unit == null ? pad : pad + unit;
                for (int i = 0; i < size; i++) {
                    out.append(i == 0 ? "" : unit == null ? ", " : ",");
                    if (unit != null) {
                        out.append('\n').append(inner);
                    }
                    item.write(i, inner);
                }
                if (unit != null) {
                    out.append('\n').append(pad);
                }
            }
            out.append(close);
        }

        private static void string(StringBuilder out, String s, boolean ascii) {
            out.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    case '\b' -> out.append("\\b");
                    case '\f' -> out.append("\\f");
                    default -> {
                        if (c < 0x20 || (ascii && c > 0x7E)) {
                            out.append(String.format("\\u%04x", (int) c));
                        } else {
                            out.append(c);
                        }
                    }
                }
            }
            out.append('"');
        }

        /** Python's {@code repr(float)}: shortest digits, fixed notation for exponents -4..15, else "1e-07". */
        static String pyFloat(double d) {
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                return Double.isNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
            }
            if (d == 0) {
                return 1 / d < 0 ? "-0.0" : "0.0";
            }
            BigDecimal decimal = new BigDecimal(Double.toString(d)).stripTrailingZeros();
            int exponent = decimal.precision() - decimal.scale() - 1;
            if (exponent >= -4 && exponent < 16) {
                String plain = decimal.toPlainString();
                return plain.contains(".") ? plain : plain + ".0";
            }
            String digits = decimal.unscaledValue().abs().toString();
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+")
                    + String.format("%02d", Math.abs(exponent));
        }
    }
}
