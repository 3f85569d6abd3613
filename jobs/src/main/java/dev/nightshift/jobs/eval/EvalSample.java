package dev.nightshift.jobs.eval;

import dev.nightshift.jobs.nightly.SqlNames;

import dev.nightshift.engine.Sha256;
import dev.nightshift.jobs.nightly.JobConfigException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.sha2;

/**
 * The documents an evaluation runs on: the {@code n} distinct ids with the smallest {@code sha256(id)} (hex, the id
 * as text in UTF-8), ties broken by id. The choice depends only on the set of ids, never on file order, partitioning
 * or the Spark version, and a larger sample contains every smaller one.
 */
public final class EvalSample {

    private EvalSample() {
    }

    /** The key an id sorts by: what Spark's {@code sha2(id, 256)} gives. */
    public static String key(String id) {
        return Sha256.hex(id.getBytes(StandardCharsets.UTF_8));
    }

    /** The sampled ids in key order. */
    public static List<String> ids(Dataset<Row> source, String idColumn, int n) {
        Column id = SqlNames.column(idColumn).cast("string");
        List<String> ids = source.select(id.as("id")).where(col("id").isNotNull()).distinct()
                .withColumn("key", sha2(col("id"), 256))
                .orderBy(col("key"), col("id")).limit(n)
                .collectAsList().stream().map(row -> row.getString(0)).toList();
        if (ids.isEmpty()) {
            throw new JobConfigException("the source has no documents to evaluate (after source.filter); "
                    + "check the source path and filter");
        }
        return ids;
    }
}
