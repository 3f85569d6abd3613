package dev.nightshift.chat;

import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.lang.reflect.Method;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * What transformers adds to Jinja for chat templates and jinjava lacks: the globals {@code raise_exception} and
 * {@code strftime_now} (static methods: jinjava calls functions through reflection), filters written as lambdas, and the
 * {@code {% generation %}} and {@code {% filter %}} tags.
 */
final class JinjaGlobals {

    private JinjaGlobals() {
    }

    /** The exception {@code raise_exception(msg)} throws, so the template's own message reaches the caller. */
    static final class RaisedException extends RuntimeException {
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

    static ELFunctionDefinition function(String name, Class<?>... parameters) {
        try {
            Method method = JinjaGlobals.class.getDeclaredMethod(name, parameters);
            method.setAccessible(true);
            return new ELFunctionDefinition("", name, method);
        } catch (NoSuchMethodException e) {
            throw new AssertionError(e);
        }
    }

    interface FilterBody {
        Object apply(Object value, Object[] args, Map<String, Object> kwargs);
    }

    static Filter filter(String name, FilterBody body) {
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
    static final class GenerationTag implements Tag {
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
    static final class FilterTag implements Tag {
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
}
