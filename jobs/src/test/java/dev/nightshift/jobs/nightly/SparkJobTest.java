package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineHolder;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** What the job's Spark tests share: one local Spark session per class, a folder per test, engines closed after. */
abstract class SparkJobTest {

    @TempDir
    static Path warehouse;
    static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void startSpark() {
        spark = TestSpark.start(warehouse);
    }

    @AfterAll
    static void closeEngines() {
        EngineHolder.closeAll();
    }
}
