package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;

/** The session tests share: local[2] with up to 3 attempts per task, Delta, and the settings of spark-stack.md §3. */
final class TestSpark {

    private TestSpark() {
    }

    static SparkSession start(Path warehouse) {
        return SparkSession.builder()
                .master("local[2,3]")
                .appName("nightshift-test")
                .config("spark.sql.extensions", SparkSessions.EXTENSIONS)
                .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
                .config("spark.sql.warehouse.dir", warehouse.toString())
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.default.parallelism", "2")
                .config("spark.databricks.delta.snapshotPartitions", "2")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .getOrCreate();
    }
}
