package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** The job's source rows with every column, read and checked as the job reads them (for {@code eval}'s sample). */
public final class SourceRows {

    private SourceRows() {
    }

    /**
     * @throws JobConfigException for a missing or unreadable source, malformed files, or a bad filter
     */
    public static Dataset<Row> read(SparkSession spark, JobConfig config) {
        return new SourceDocuments(spark, config).raw();
    }
}
