package dev.nightshift.jobs.eval;

import dev.nightshift.jobs.nightly.JobConfigException;
import dev.nightshift.jobs.nightly.JobBuilder;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code eval:} section of a job's YAML file (the job loader skips it; this class reads it with the same kind of
 * messages: file, line, setting, what is accepted).
 *
 * <pre>
 * eval:
 *   sample: 200                     # documents, the smallest sha256(id) first
 *   output: {path: warehouse/eval}  # eval_rows and eval_summary Delta tables (and scratch results) go under it
 *   calibration_bins: 10
 *   min_accuracy: 0.8               # quality gates: exit code 1 when one fails
 * </pre>
 *
 * @param sample          documents to evaluate (null: the command's default)
 * @param output          the folder of the eval tables, or null when not configured
 * @param calibrationBins equal-width bins of the expected calibration error
 * @param gates           gate name (e.g. {@code min_accuracy}) to threshold, in file order
 */
public record EvalSettings(Integer sample, String output, int calibrationBins, Map<String, Double> gates) {

    public EvalSettings {
        gates = Map.copyOf(gates);
    }

    public static EvalSettings none() {
        return new EvalSettings(null, null, 10, Map.of());
    }

    /** Reads the eval section of a job file; a file without one gives {@link #none()}. */
    public static EvalSettings load(Path file) throws IOException {
        return parse(Files.readString(file), file.toString());
    }

    public static EvalSettings parse(String yaml, String file) {
        LoaderOptions options = new LoaderOptions();
        Node root = new Yaml(options).compose(new StringReader(yaml));
        if (!(root instanceof MappingNode top)) {
            return none();
        }
        Node eval = value(top, "eval");
        if (eval == null || isNull(eval)) {
            return none();
        }
        if (!(eval instanceof MappingNode section)) {
            throw error(file, eval, "eval", "expected a mapping of key: value lines");
        }
        Integer sample = null;
        String output = null;
        int bins = 10;
        Map<String, Double> gates = new LinkedHashMap<>();
        for (NodeTuple tuple : section.getValue()) {
            String key = ((ScalarNode) tuple.getKeyNode()).getValue();
            Node value = tuple.getValueNode();
            switch (key) {
                case "sample" -> sample = whole(file, value, "eval.sample", 1, 10_000_000);
                case "calibration_bins" -> bins = whole(file, value, "eval.calibration_bins", 1, 1000);
                case "output" -> {
                    Node path = value instanceof MappingNode mapping ? value(mapping, "path") : null;
                    if (!(path instanceof ScalarNode scalar) || scalar.getValue().isBlank()) {
                        throw error(file, value, "eval.output", "expected {path: FOLDER}, the folder of the eval tables");
                    }
                    output = JobBuilder.localPath(scalar.getValue());
                }
                default -> {
                    if (!QualityGates.KNOWN.contains(key)) {
                        throw error(file, tuple.getKeyNode(), "eval", "unknown key '" + key + "'; known keys: sample, "
                                + "output, calibration_bins, " + String.join(", ", QualityGates.KNOWN));
                    }
                    gates.put(key, fraction(file, value, "eval." + key));
                }
            }
        }
        return new EvalSettings(sample, output, bins, gates);
    }

    private static Node value(MappingNode mapping, String key) {
        for (NodeTuple tuple : mapping.getValue()) {
            if (tuple.getKeyNode() instanceof ScalarNode scalar && scalar.getValue().equals(key)) {
                return tuple.getValueNode();
            }
        }
        return null;
    }

    private static int whole(String file, Node value, String setting, int min, int max) {
        String text = value instanceof ScalarNode scalar ? scalar.getValue().trim() : "";
        try {
            long parsed = Long.parseLong(text.replace("_", ""));
            if (parsed < min || parsed > max) {
                throw error(file, value, setting, "must be between " + min + " and " + max + ", got " + text);
            }
            return (int) parsed;
        } catch (NumberFormatException e) {
            throw error(file, value, setting, "expected a whole number, got '" + text + "'");
        }
    }

    private static double fraction(String file, Node value, String setting) {
        String text = value instanceof ScalarNode scalar ? scalar.getValue().trim() : "";
        try {
            double parsed = Double.parseDouble(text);
            if (!(parsed >= 0 && parsed <= 1)) {
                throw error(file, value, setting, "must be between 0 and 1, got " + text);
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw error(file, value, setting, "expected a number between 0 and 1, got '" + text + "'");
        }
    }

    private static boolean isNull(Node node) {
        return node instanceof ScalarNode scalar && scalar.getTag().getValue().endsWith(":null");
    }

    private static JobConfigException error(String file, Node node, String setting, String message) {
        return new JobConfigException(file + " line " + (node.getStartMark().getLine() + 1) + ": " + setting + ": " + message);
    }
}
