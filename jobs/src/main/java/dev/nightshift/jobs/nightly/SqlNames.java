package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;

/** Quoting of identifiers that come from configs: any column name works, none can inject SQL. */
public final class SqlNames {

    private SqlNames() {
    }

    /** {@code name} as a back-quoted identifier (back-quotes doubled). */
    public static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    /** A column reference that takes the name literally (dots, spaces and quotes included). */
    public static Column column(String name) {
        return functions.col(quote(name));
    }
}
