package dev.nightshift.jobs.nightly;

import dev.nightshift.sql.NightshiftExtensions;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;

/**
 * The Spark session the command line uses: Delta enabled, a local master and warehouse when none is configured
 * (plain {@code java -cp}), and whatever spark-submit or spark-defaults set otherwise.
 */
public final class SparkSessions {

    private SparkSessions() {
    }

    /**
     * Nightshift's llm_* SQL functions (they need spark.nightshift.model.path only when a query calls one), then Delta.
     * Nightshift's come first: Delta's planner strategy plans any projection over a file scan, including one holding
     * llm_* calls, which must become the batched operator first.
     */
    public static final String EXTENSIONS = NightshiftExtensions.CLASS + ",io.delta.sql.DeltaSparkSessionExtension";

    /**
     * The active session, or a new one.
     *
     * @param master    used only when spark.master is not set (spark-submit sets it)
     * @param warehouse used only when spark.sql.warehouse.dir is not set
     */
    public static SparkSession getOrCreate(String master, Path warehouse) {
        SparkConf conf = new SparkConf();
        SparkSession.Builder builder = SparkSession.builder().appName("nightshift");
        if (!conf.contains("spark.master")) {
            builder = builder.master(master)
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.databricks.delta.snapshotPartitions", "2")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.driver.host", "127.0.0.1");
        }
        if (!conf.contains("spark.sql.warehouse.dir")) {
            builder = builder.config("spark.sql.warehouse.dir", warehouse.toAbsolutePath().toString());
        }
        return builder
                .config("spark.sql.extensions", EXTENSIONS)
                .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
                .getOrCreate();
    }
}
