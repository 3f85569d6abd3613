package dev.nightshift.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
import jinjava.javax.el.ExpressionFactory;

/**
 * The Jinja environment of transformers' {@code apply_chat_template}, built on jinjava: {@link #create} sets it up,
 * the nested classes give jinjava's expression parser Python's precedence and value rules (see {@link PyExpressions}).
 */
final class PythonJinja {

    private PythonJinja() {
    }

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
     *   <li>{@code raise_exception} and {@code strftime_now} are functions here (see {@link ChatTemplate#render} for
     *       {@code is defined}); strftime_now reads the injected clock through jinjava's DateTimeProvider.
     * </ul>
     * Already right in jinjava: {@code namespace()}, {@code loop.*}, slicing, {@code in}, {@code is defined},
     * {@code +} and {@code ~} on strings, {@code set} scoping inside loops, trim_blocks and lstrip_blocks.
     */
    static Jinjava create(Clock clock) {
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
        jinjava.registerFunction(JinjaGlobals.function("raise_exception", String.class));
        jinjava.registerFunction(JinjaGlobals.function("strftime_now", String.class));
        jinjava.registerFilter(JinjaGlobals.filter("tojson", (value, args, kwargs) -> PyJson.dumps(value, kwargs)));
        jinjava.registerFilter(JinjaGlobals.filter("trim", (value, args, kwargs) ->
                PyStrings.pyStrip(Objects.toString(value, ""), args.length > 0 && args[0] != null ? args[0].toString() : null, true, true)));
        jinjava.registerFilter(JinjaGlobals.filter("items", (value, args, kwargs) ->
                value instanceof Map<?, ?> map ? new ArrayList<>(map.entrySet()) : List.of()));
        jinjava.registerTag(new JinjaGlobals.GenerationTag());
        jinjava.registerTag(new JinjaGlobals.FilterTag());
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
    static final class PyBuilder extends ExtendedSyntaxBuilder {
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
}
