package dev.nightshift.chat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * transformers' {@code tojson}: {@code json.dumps(x, ensure_ascii=False, indent=None, sort_keys=False)}, with
 * Python's separators (", " and ": "; "," before a newline when indented) and Python's float repr.
 */
final class PyJson {
    private PyJson() {
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
