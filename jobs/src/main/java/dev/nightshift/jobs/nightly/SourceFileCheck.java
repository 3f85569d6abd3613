package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.Reason;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.input.PortableDataStream;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Reads every CSV or JSON-lines file of a source once, in parallel (one Spark task per group of files), and fails with
 * the first malformed line before Spark parses the files in a way that would hide it. The messages carry file names and
 * line numbers, which Spark's readers cannot give.
 */
final class SourceFileCheck {

    private SourceFileCheck() {
    }

    /**
     * @param options the reader options the job gives Spark
     * @throws JobConfigException naming the file, the line and the fix
     */
    static void check(SparkSession spark, TableRef ref, Map<String, String> options, JobConfig.BadRows badRows,
                      String where) {
        List<CsvShapeCheck.FileProblem> problems;
        if (ref.format().equals("csv")) {
            CsvShapeCheck csv;
            try {
                csv = CsvShapeCheck.of(options, badRows == JobConfig.BadRows.ERROR);
            } catch (IllegalArgumentException e) {
                throw new JobConfigException(where + ": " + e.getMessage());
            }
            problems = scan(spark, files(spark, ref, options), csv::check);
            if (!problems.isEmpty()) {
                CsvShapeCheck.FileProblem first = problems.get(0);
                throw new JobConfigException(String.format(java.util.Locale.ROOT,
                        "%s line %d %s%s; fix the file%s (Spark would drop, pad or merge such rows silently)%s",
                        first.file(), first.line(), first.problem(),
                        first.count() > 1 ? " (" + first.count() + " malformed records in this file)" : "",
                        first.fieldCount() ? ", or set source.bad_rows: error_rows to keep such records as error rows" : "",
                        more(problems)));
            }
        } else if (ref.format().equals("json") && !isTrue(options, "multiLine")) {
            problems = scan(spark, files(spark, ref, options), new JsonLinesCheck()::check);
            if (!problems.isEmpty()) {
                CsvShapeCheck.FileProblem first = problems.get(0);
                throw new JobConfigException(String.format(java.util.Locale.ROOT,
                        "%d line%s of %s %s not valid JSON objects (first at line %d, which %s); fix or remove %s "
                                + "(format json reads one object per line; for files that each hold one object over "
                                + "several lines, set source.options: {multiLine: \"true\"})%s",
                        first.count(), first.count() == 1 ? "" : "s", first.file(), first.count() == 1 ? "is" : "are",
                        first.line(), first.problem(), first.count() == 1 ? "it" : "them", more(problems)));
            }
        }
    }

    private static String more(List<CsvShapeCheck.FileProblem> problems) {
        return problems.size() == 1 ? "" : "; " + (problems.size() - 1) + " other file(s) have problems too, e.g. "
                + problems.get(1).file() + " line " + problems.get(1).line();
    }

    private static boolean isTrue(Map<String, String> options, String key) {
        return options.entrySet().stream().anyMatch(e -> e.getKey().equalsIgnoreCase(key) && e.getValue().equalsIgnoreCase("true"));
    }

    /** What one file is checked with (serializable: it runs in Spark tasks). */
    interface FileScan extends java.io.Serializable {
        CsvShapeCheck.FileProblem check(String file, InputStream in) throws IOException;
    }

    /**
     * The files Spark will read, listed by Spark itself (globs, partition folders, hidden files, pathGlobFilter and
     * recursiveFileLookup as the reader sees them). A fixed schema keeps the listing from reading any file.
     */
    private static List<String> files(SparkSession spark, TableRef ref, Map<String, String> options) {
        return List.of(spark.read().schema("`__listing` STRING").format(ref.format()).options(options).load(ref.path())
                .inputFiles());
    }

    /** The problems of every file, sorted by file name; files are decompressed by their extension, as Spark does. */
    private static List<CsvShapeCheck.FileProblem> scan(SparkSession spark, List<String> files, FileScan scan) {
        if (files.isEmpty()) {
            return List.of();
        }
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        // binaryFiles takes a comma-separated list of paths or globs: file names with commas or glob characters
        // ({, [, *) would be misread, as they are by Spark's own readers in most places.
        String paths = String.join(",", files);
        List<CsvShapeCheck.FileProblem> problems = new ArrayList<>(context.binaryFiles(paths).flatMap(
                (Tuple2<String, PortableDataStream> file) -> {
                    CompressionCodec codec = new CompressionCodecFactory(new Configuration())
                            .getCodec(new org.apache.hadoop.fs.Path(file._1()));
                    try (InputStream raw = file._2().open();
                         InputStream in = codec == null ? raw : codec.createInputStream(raw)) {
                        CsvShapeCheck.FileProblem problem = scan.check(displayName(file._1()), in);
                        return problem == null ? List.<CsvShapeCheck.FileProblem>of().iterator() : List.of(problem).iterator();
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot read " + file._1() + ": " + Reason.of(e), e);
                    }
                }).collect());
        problems.sort(Comparator.comparing(CsvShapeCheck.FileProblem::file));
        return problems;
    }

    /** Local files as plain paths (file:/x/y → /x/y), so messages show what the config says. */
    private static String displayName(String uri) {
        return uri.startsWith("file:") ? java.net.URI.create(uri).getPath() : uri;
    }
}
