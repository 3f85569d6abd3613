package dev.nightshift.chat;

import com.hubspot.jinjava.el.ext.AdditionOperator;
import com.hubspot.jinjava.el.ext.TruncDivOperator;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.impl.ast.AstBinary;
import jinjava.de.odysseus.el.tree.impl.ast.AstBracket;
import jinjava.de.odysseus.el.tree.impl.ast.AstDot;
import jinjava.de.odysseus.el.tree.impl.ast.AstIdentifier;
import jinjava.de.odysseus.el.tree.impl.ast.AstMethod;
import jinjava.de.odysseus.el.tree.impl.ast.AstNested;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstParameters;
import jinjava.de.odysseus.el.tree.impl.ast.AstProperty;
import jinjava.de.odysseus.el.tree.impl.ast.AstRightValue;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.PropertyNotFoundException;

/**
 * Expression nodes that make jinjava fail where Python's jinja2 (as transformers configures it) raises, instead of
 * rendering something plausible. transformers uses jinja2's default {@code Undefined}, so:
 * <ul>
 *   <li>printing an undefined name renders "", and {@code if x}, {@code x is defined}, {@code x|default(..)},
 *       {@code x|length} and {@code for y in x} treat it as empty; jinjava already does that (undefined is null);</li>
 *   <li>an attribute, item or method of an undefined value raises UndefinedError: {@code foo.bar} with {@code foo}
 *       undefined, {@code messages[0].nothing.deeper}, {@code messages[5]['content']}, {@code foo.strip()}. A missing
 *       attribute of a defined value ({@code messages[0].nothing}) or any attribute of {@code none} is itself
 *       Undefined, so printing it still renders "";</li>
 *   <li>arithmetic follows Python: {@code 'a' + 1}, {@code [1] + 'a'}, anything {@code + none} raise TypeError,
 *       {@code 'ab' * 3} repeats, {@code x / 0} raises ZeroDivisionError, {@code 'a' < 1} raises. ({@code ~}
 *       concatenates anything, as in jinja2, and is left alone.)</li>
 * </ul>
 * The errors are {@link TemplateRuntimeError}s, which a render turns into a per-row {@code RenderException}.
 *
 * <p>jinjava represents both Undefined and None as null, so whether a null is Undefined is decided from where it came
 * from: an unbound name, a key the mapping lacks, an index past the list, an attribute of None.
 */
final class PyExpressions {

    /** Names jinjava resolves although no context holds them. */
    private static final Set<String> LITERAL_NAMES = Set.of("none", "None", "true", "True", "false", "False");

    private PyExpressions() {
    }

    /** An error jinja2 would raise while rendering (UndefinedError, TypeError, ZeroDivisionError). */
    static final class TemplateRuntimeError extends RuntimeException {
        TemplateRuntimeError(String message) {
            super(message);
        }
    }

    /** {@code prefix.name}: raises when {@code prefix} is Undefined. */
    static final class PyDot extends AstDot {
        PyDot(AstNode prefix, String property, boolean lvalue) {
            super(prefix, property, lvalue);
        }

        @Override
        public Object eval(Bindings bindings, ELContext context) {
            return resolve(this, prefix, bindings, context);
        }

        AstNode prefixNode() {
            return prefix;
        }

        Object key(Bindings bindings, ELContext context) {
            return getProperty(bindings, context);
        }

        String name() {
            return property;
        }
    }

    /** {@code prefix[key]}: raises when {@code prefix} is Undefined. */
    static final class PyBracket extends AstBracket {
        PyBracket(AstNode prefix, AstNode property, boolean lvalue, boolean strict) {
            super(prefix, property, lvalue, strict);
        }

        @Override
        public Object eval(Bindings bindings, ELContext context) {
            return resolve(this, prefix, bindings, context);
        }

        AstNode prefixNode() {
            return prefix;
        }

        Object key(Bindings bindings, ELContext context) {
            return getProperty(bindings, context);
        }
    }

    /** {@code prefix.name(args)}: calling a method of Undefined or None raises (jinja2 calls an Undefined). */
    static final class PyMethod extends AstMethod {
        private final AstProperty property;

        PyMethod(AstProperty property, AstParameters params) {
            super(property, params);
            this.property = property;
        }

        @Override
        public Object eval(Bindings bindings, ELContext context) {
            AstNode prefix = (AstNode) property.getChild(0);
            if (prefix.eval(bindings, context) == null) {
                String method = property instanceof PyDot dot ? dot.name() : "method";
                throw new TemplateRuntimeError(undefinedReason(prefix, bindings, context)
                        .orElse("'NoneType' object has no attribute '" + method + "'") + " (calling " + method + "())");
            }
            return super.eval(bindings, context);
        }
    }

    /** The value of a property node, resolving the base once, as AstProperty.eval does, but raising on Undefined. */
    private static Object resolve(AstProperty node, AstNode prefix, Bindings bindings, ELContext context) {
        Object base = prefix.eval(bindings, context);
        if (base == null) {
            undefinedReason(prefix, bindings, context).ifPresent(reason -> {
                throw new TemplateRuntimeError(reason);
            });
            return null; // an attribute of None is Undefined: "" when printed
        }
        Object key = node instanceof PyDot dot ? dot.key(bindings, context) : ((PyBracket) node).key(bindings, context);
        if (key == null) {
            return null;
        }
        context.setPropertyResolved(false);
        Object result = context.getELResolver().getValue(context, base, key);
        if (!context.isPropertyResolved()) {
            throw new PropertyNotFoundException("cannot resolve '" + key + "' of " + typeName(base));
        }
        return result;
    }

    /**
     * Why {@code node}'s (null) value is jinja2's Undefined rather than None, in jinja2's words; empty when it is
     * None.
     */
    private static Optional<String> undefinedReason(AstNode node, Bindings bindings, ELContext context) {
        if (node instanceof AstNested) {
            return undefinedReason((AstNode) node.getChild(0), bindings, context);
        }
        if (node instanceof AstIdentifier identifier) {
            String name = identifier.getName();
            boolean bound = LITERAL_NAMES.contains(name) || JinjavaInterpreter.getCurrent() == null
                    || JinjavaInterpreter.getCurrent().getContext().containsKey(name);
            return bound ? Optional.empty() : Optional.of("'" + name + "' is undefined");
        }
        AstNode prefix;
        Object key;
        if (node instanceof PyDot dot) {
            prefix = dot.prefixNode();
            key = dot.key(bindings, context);
        } else if (node instanceof PyBracket bracket) {
            prefix = bracket.prefixNode();
            key = bracket.key(bindings, context);
        } else {
            return Optional.empty();
        }
        Object base = prefix.eval(bindings, context);
        boolean present;
        if (base instanceof Map<?, ?> map) {
            present = map.containsKey(key);
        } else if (base instanceof List<?> list) {
            Integer index = index(key);
            present = index != null && (index < 0 ? index + list.size() >= 0 : index < list.size());
        } else {
            present = false; // None's attributes, and a missing attribute of anything else, are Undefined
        }
        if (present) {
            return Optional.empty();
        }
        if (base instanceof List<?>) {
            return Optional.of("list object has no element " + key);
        }
        return Optional.of("'" + typeName(base) + "' has no attribute '" + key + "'");
    }

    private static Integer index(Object key) {
        if (key instanceof Number n) {
            return n.intValue();
        }
        try {
            return key == null ? null : Integer.valueOf(key.toString());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Python's name for a value's type, as jinja2's messages print it ("dict object", "str object", "None"). */
    static String typeName(Object value) {
        if (value == null) {
            return "None";
        }
        return pyType(value) + " object";
    }

    private static String pyType(Object value) {
        if (value == null) {
            return "NoneType";
        } else if (value instanceof String) {
            return "str";
        } else if (value instanceof Boolean) {
            return "bool";
        } else if (value instanceof Long || value instanceof Integer || value instanceof java.math.BigInteger) {
            return "int";
        } else if (value instanceof Number) {
            return "float";
        } else if (value instanceof Map<?, ?>) {
            return "dict";
        } else if (value instanceof Collection<?> || value instanceof Object[]) {
            return "list";
        }
        return value.getClass().getSimpleName();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Binary operators

    /** {@code left op right} with Python's type rules for the operators jinjava coerces or concatenates. */
    static AstBinary binary(AstNode left, AstNode right, AstBinary.Operator operator) {
        String symbol = symbol(operator);
        return symbol == null ? new AstBinary(left, right, operator) : new AstBinary(left, right, new PyOperator(operator, symbol));
    }

    private static String symbol(AstBinary.Operator operator) {
        if (operator == AdditionOperator.OP || operator == AstBinary.ADD) {
            return "+";
        } else if (operator == AstBinary.SUB) {
            return "-";
        } else if (operator == AstBinary.MUL) {
            return "*";
        } else if (operator == AstBinary.DIV) {
            return "/";
        } else if (operator == TruncDivOperator.OP) {
            return "//";
        } else if (operator == AstBinary.LT) {
            return "<";
        } else if (operator == AstBinary.LE) {
            return "<=";
        } else if (operator == AstBinary.GT) {
            return ">";
        } else if (operator == AstBinary.GE) {
            return ">=";
        }
        return null; // == != and or % in ~ ** keep jinjava's behaviour
    }

    private static final class PyOperator implements AstBinary.Operator {
        private final AstBinary.Operator jinjava;
        private final String symbol;

        PyOperator(AstBinary.Operator jinjava, String symbol) {
            this.jinjava = jinjava;
            this.symbol = symbol;
        }

        @Override
        public Object eval(Bindings bindings, ELContext context, AstNode leftNode, AstNode rightNode) {
            Object left = leftNode.eval(bindings, context);
            Object right = rightNode.eval(bindings, context);
            boolean numbers = isNumber(left) && isNumber(right);
            switch (symbol) {
                case "+" -> {
                    boolean same = numbers || (left instanceof String && right instanceof String)
                            || (isList(left) && isList(right));
                    if (!same) {
                        throw typeError(left, right, leftNode, rightNode, bindings, context);
                    }
                }
                case "*" -> {
                    if (left instanceof String s && isInt(right)) {
                        return s.repeat((int) Math.max(0, ((Number) right).longValue()));
                    }
                    if (isInt(left) && right instanceof String s) {
                        return s.repeat((int) Math.max(0, ((Number) left).longValue()));
                    }
                    if (left instanceof List<?> list && isInt(right)) {
                        List<Object> repeated = new ArrayList<>();
                        for (long n = ((Number) right).longValue(); n > 0; n--) {
                            repeated.addAll(list);
                        }
                        return repeated;
                    }
                    if (!numbers) {
                        throw typeError(left, right, leftNode, rightNode, bindings, context);
                    }
                }
                case "-", "/", "//" -> {
                    if (!numbers) {
                        throw typeError(left, right, leftNode, rightNode, bindings, context);
                    }
                    if (!symbol.equals("-") && ((Number) right).doubleValue() == 0) {
                        throw new TemplateRuntimeError("ZeroDivisionError: division by zero");
                    }
                }
                default -> { // comparisons: numbers with numbers, str with str, lists with lists
                    if (!numbers && !(left instanceof String && right instanceof String) && !(isList(left) && isList(right))) {
                        throw new TemplateRuntimeError("TypeError: '" + symbol + "' not supported between instances of '"
                                + pyType(left) + "' and '" + pyType(right) + "'");
                    }
                }
            }
            return jinjava.eval(bindings, context, new Value(left), new Value(right));
        }

        private TemplateRuntimeError typeError(Object left, Object right, AstNode leftNode, AstNode rightNode,
                Bindings bindings, ELContext context) {
            // Undefined in arithmetic is an UndefinedError in jinja2, None a TypeError
            for (AstNode node : new AstNode[] {leftNode, rightNode}) {
                if ((node == leftNode ? left : right) == null) {
                    Optional<String> undefined = undefinedReason(node, bindings, context);
                    if (undefined.isPresent()) {
                        return new TemplateRuntimeError(undefined.get());
                    }
                }
            }
            String hint = symbol.equals("+") && (left instanceof String || right instanceof String)
                    ? " (use ~ to join values as text)" : "";
            return new TemplateRuntimeError("TypeError: unsupported operand type(s) for " + symbol + ": '" + pyType(left)
                    + "' and '" + pyType(right) + "'" + hint);
        }
    }

    private static boolean isNumber(Object value) {
        return value instanceof Number && !(value instanceof Boolean);
    }

    private static boolean isInt(Object value) {
        return value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte;
    }

    private static boolean isList(Object value) {
        return value instanceof List<?> || value instanceof Object[];
    }

    /** An already evaluated operand, handed to jinjava's own operator. */
    private static final class Value extends AstRightValue {
        private final Object value;

        Value(Object value) {
            this.value = value;
        }

        @Override
        public Object eval(Bindings bindings, ELContext context) {
            return value;
        }

        @Override
        public void appendStructure(StringBuilder builder, Bindings bindings) {
            builder.append(value);
        }

        @Override
        public int getCardinality() {
            return 0;
        }

        @Override
        public AstNode getChild(int i) {
            return null;
        }
    }
}
