package dev.nightshift.jobs.nightly;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A table by catalog name ({@code db.results}) or by path and format ({@code /data/results}, delta). Names are
 * checked to be plain identifiers, or back-quoted ones, so a config cannot smuggle SQL into a statement; paths never
 * go through SQL at all.
 *
 * @param name    a catalog table name, or null
 * @param path    a folder or file (absolute, or with a URI scheme), or null
 * @param format  delta, parquet, csv or json (paths only; tables know their format)
 * @param options reader options (csv header, separator, ...)
 */
public record TableRef(String name, String path, String format, Map<String, String> options) {

    public static final List<String> FORMATS = List.of("delta", "parquet", "csv", "json");

    /** One part of a name: a plain identifier, or back-quoted with `` for a literal back-quote. */
    private static final Pattern NAME = Pattern.compile(
            "([A-Za-z_][A-Za-z0-9_]*|`([^`]|``)+`)(\\.([A-Za-z_][A-Za-z0-9_]*|`([^`]|``)+`)){0,2}");

    public TableRef {
        if ((name == null) == (path == null)) {
            throw new IllegalArgumentException("give exactly one of table or path");
        }
        if (name != null && !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("table name '" + name + "' is not [catalog.][db.]table made of letters, "
                    + "digits and _; quote other names with back-quotes, e.g. `my-table`");
        }
        format = format == null ? "delta" : format.toLowerCase(Locale.ROOT);
        if (!FORMATS.contains(format)) {
            throw new IllegalArgumentException("unknown format '" + format + "'; use one of " + FORMATS);
        }
        options = options == null ? Map.of() : Map.copyOf(options);
    }

    public static TableRef table(String name) {
        return new TableRef(name, null, "delta", Map.of());
    }

    public static TableRef delta(String path) {
        return new TableRef(null, path, "delta", Map.of());
    }

    public boolean isPath() {
        return path != null;
    }

    /** A SQL reference: the table name as written, or {@code delta.`/path`} with back-quotes escaped. */
    public String sql() {
        return isPath() ? format + "." + SqlNames.quote(path) : name;
    }

    /** For messages: "table db.results" or "delta path /data/results". */
    public String describe() {
        return isPath() ? format + " path " + path : "table " + name;
    }

    @Override
    public String toString() {
        return describe();
    }
}
