package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ETA counts planned tokens, so mixed document lengths do not throw it off by the ratio of their lengths. */
class ProgressEstimatorTest {

    /**
     * Rows of mixed lengths (short labels and long summaries, 1:14 in cost), run cheapest first as the job does, with
     * time per row proportional to its real tokens (outputs stop at 40-100% of max_new_tokens). At every tenth of the
     * run the ETA is within 2x of the real time left; the old rows-based ETA is not.
     */
    @Test
    void etaFromPlannedTokensStaysWithinTwiceTheRealRemainingTimeOnMixedLengths() {
        Random random = new Random(7);
        int n = 400;
        long[] planned = new long[n];
        double[] seconds = new double[n];
        for (int i = 0; i < n; i++) {
            boolean longRow = i % 2 == 0;
            int promptChars = longRow ? 3000 + random.nextInt(800) : 150 + random.nextInt(100);
            int maxNewTokens = longRow ? 96 : 12;
            planned[i] = (long) Math.ceil(promptChars / ProgressEstimator.CHARS_PER_TOKEN) + maxNewTokens;
            double realTokens = promptChars / 3.6 + maxNewTokens * (0.4 + 0.6 * random.nextDouble());
            seconds[i] = realTokens * 0.002;
        }
        // The job's order: cheapest planned rows first.
        Integer[] order = new Integer[n];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> Long.compare(planned[a], planned[b]));
        ProgressEstimator estimator = ProgressEstimator.ofRows(planned);

        double elapsed = 0;
        List<String> rowsBasedOff = new ArrayList<>();
        for (int done = 1; done < n; done++) {
            elapsed += seconds[order[done - 1]];
            if (done % (n / 10) != 0) {
                continue;
            }
            double remaining = 0;
            for (int j = done; j < n; j++) {
                remaining += seconds[order[j]];
            }
            double eta = estimator.etaSeconds(done, elapsed);
            assertTrue(eta >= remaining / 2 && eta <= remaining * 2,
                    "after " + done + " rows: ETA " + eta + " s, really " + remaining + " s");
            double rowsBased = elapsed / done * (n - done);
            if (rowsBased < remaining / 2 || rowsBased > remaining * 2) {
                rowsBasedOff.add(done + " rows: " + Math.round(rowsBased) + " s vs " + Math.round(remaining) + " s");
            }
        }
        assertTrue(!rowsBasedOff.isEmpty(), "this mix should throw a rows-based ETA off by more than 2x");
        assertEquals(0, estimator.etaSeconds(n, elapsed), 1e-9);
        assertTrue(Double.isNaN(estimator.etaSeconds(0, 0)), "no ETA before the first row");
    }

    @Test
    void thePlanOfPendingRowsCountsPromptTokensPlusEachTasksMaxNewTokens(@TempDir Path dir) {
        SparkSession spark = TestSpark.start(dir.resolve("warehouse"));
        JobConfig config = new JobFiles(dir).config();
        List<TaskSpec> tasks = config.tasks().stream().map(t -> TaskSpec.of(t, false)).toList();
        List<Row> rows = new ArrayList<>();
        double expected = 0;
        for (int i = 0; i < 200; i++) {
            String task = i % 3 == 0 ? "topic" : "tldr";
            int chars = 40 + 37 * i;
            rows.add(RowFactory.create(task, chars));
            expected += Math.ceil(chars / ProgressEstimator.CHARS_PER_TOKEN) + (task.equals("topic") ? 1 : 12);
        }
        ProgressEstimator plan = ProgressEstimator.plan(spark.createDataFrame(rows, new StructType()
                .add("task", DataTypes.StringType).add("prompt_chars", DataTypes.IntegerType)), tasks);
        assertEquals(expected, plan.totalTokens(), expected * 0.03, "histogram buckets are within 2%");
    }
}
