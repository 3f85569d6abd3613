package dev.nightshift.chat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's str methods that chat templates call and Java's String lacks or gets subtly wrong, and {@code s[i]}.
 * Consulted before jinjava's own resolvers; anything else falls through to them (so {@code "a".replace("a", "b")}
 * stays Java's, which agrees with Python).
 */
final class PyStrings extends ELResolver {
    private static final Pattern INDEX = Pattern.compile("-?\\d{1,9}");

    /** Python's {@code str.isspace()} for one character. */
    private static boolean isPySpace(char c) {
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }

    /** Python's {@code str.strip/lstrip/rstrip(chars)}; chars null means whitespace. */
    static String pyStrip(String s, String chars, boolean left, boolean right) {
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
