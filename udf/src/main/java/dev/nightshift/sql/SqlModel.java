package dev.nightshift.sql;

import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.EngineOptions;
import dev.nightshift.engine.ModelCard;
import dev.nightshift.engine.ModelFolder;
import dev.nightshift.engine.ModelSettings;
import dev.nightshift.engine.OnnxEngineFactory;
import org.apache.spark.sql.RuntimeConfig;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The model the {@code llm_*} functions run, from the session's Spark conf (read on the driver when a query is
 * planned, then shipped with its tasks):
 *
 * <pre>
 * spark.nightshift.model.path            the converted model folder (required; every executor must read it)
 * spark.nightshift.model.provider        cpu (default) or cuda
 * spark.nightshift.model.threads         ONNX Runtime threads per engine; 0 (default) = all cores
 * spark.nightshift.model.batch_budget_mb KV-cache megabytes one engine batch may use (default 1024)
 * spark.nightshift.model.max_batch_rows  rows handed to the engine at once (default 32, as the job)
 * spark.nightshift.prices.NAME.input_per_1m_usd   an API's input price, for llm_estimate_cost
 * spark.nightshift.engine.factory        an EngineFactory class with a public no-argument constructor (default:
 *                                        ONNX Runtime); for tests and custom engines. Make it a record (or give it
 *                                        equals): the per-JVM engine is shared by factories that are equal
 * </pre>
 * The defaults are the nightly job's, so a query and a job with the same model settings share one engine per JVM.
 *
 * @param settings    how executors open the model
 * @param factory     what opens it
 * @param card        the driver's view of the folder (chat template, fingerprint)
 * @param inputPrices USD per million input tokens, by API name
 */
public record SqlModel(ModelSettings settings, EngineFactory factory, ModelCard card, Map<String, Double> inputPrices)
        implements Serializable {

    public static final String PREFIX = "spark.nightshift.";
    public static final String PATH = PREFIX + "model.path";
    static final String PROVIDER = PREFIX + "model.provider";
    static final String THREADS = PREFIX + "model.threads";
    static final String BUDGET = PREFIX + "model.batch_budget_mb";
    static final String MAX_BATCH_ROWS = PREFIX + "model.max_batch_rows";
    static final String KV_CACHE = PREFIX + "model.kv_cache";
    static final String REQUIRE_GPU = PREFIX + "model.require_gpu";
    static final String FACTORY = PREFIX + "engine.factory";
    static final String PRICES = PREFIX + "prices.";
    private static final String INPUT_PRICE = ".input_per_1m_usd";

    /**
     * Reads the conf.
     *
     * @throws IllegalArgumentException naming the conf key that is missing or wrong, and how to set it
     */
    public static SqlModel from(RuntimeConfig conf) {
        scala.collection.immutable.Map<String, String> all = conf.getAll();
        Map<String, String> values = new TreeMap<>(scala.jdk.javaapi.CollectionConverters.asJava(all));
        String path = values.get(PATH);
        if (path == null || path.isBlank()) {
            throw new IllegalArgumentException("the llm_* functions need a model: set " + PATH + " to a folder made by "
                    + "`nightshift convert` (spark-submit --conf " + PATH + "=/models/llama-int4, or "
                    + "`bin/nightshift sql --model DIR`)");
        }
        Path folder = Path.of(path.startsWith("file:") ? java.net.URI.create(path).getPath() : path);
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException(PATH + "=" + path + " is not a folder; convert a model with "
                    + "`nightshift convert` or fix the path");
        }
        EngineOptions options;
        try {
            options = EngineOptions.defaults()
                    .withProvider(values.getOrDefault(PROVIDER, "cpu").strip().toLowerCase(Locale.ROOT))
                    .withThreads(whole(values, THREADS, 0))
                    .withKvBudget((long) whole(values, BUDGET, 1024) << 20)
                    .withMaxBatchSize(whole(values, MAX_BATCH_ROWS, 32))
                    .withKvCache(values.getOrDefault(KV_CACHE, EngineOptions.KV_HOST))
                    .withDevice(0, bool(values, REQUIRE_GPU));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("spark.nightshift.model.*: " + e.getMessage(), e);
        }
        ModelCard card;
        try {
            card = ModelFolder.open(folder).card();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(PATH + "=" + path + " is not a readable model folder: " + e.getMessage()
                    + "; point it at the output of `nightshift convert`", e);
        }
        Map<String, Double> prices = new TreeMap<>();
        values.forEach((key, value) -> {
            if (key.startsWith(PRICES) && key.endsWith(INPUT_PRICE)) {
                String api = key.substring(PRICES.length(), key.length() - INPUT_PRICE.length());
                try {
                    prices.put(api, Double.parseDouble(value.strip()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(key + " must be a number of USD, got '" + value + "'");
                }
            }
        });
        return new SqlModel(new ModelSettings(folder.toString(), options), factory(values.get(FACTORY)), card, prices);
    }

    /** The input price of an API, for llm_estimate_cost. */
    double inputPrice(String api) {
        Double price = inputPrices.get(api);
        if (price == null) {
            throw new IllegalArgumentException("llm_estimate_cost: no price for API '" + api + "'; set " + PRICES + api
                    + INPUT_PRICE + " (USD per million input tokens)"
                    + (inputPrices.isEmpty() ? "" : "; priced here: " + String.join(", ", inputPrices.keySet())));
        }
        return price;
    }

    private static boolean bool(Map<String, String> values, String key) {
        String text = values.getOrDefault(key, "false").strip();
        if (!text.equalsIgnoreCase("true") && !text.equalsIgnoreCase("false")) {
            throw new IllegalArgumentException(key + " must be true or false, got '" + text + "'");
        }
        return Boolean.parseBoolean(text);
    }

    private static int whole(Map<String, String> values, String key, int fallback) {
        String text = values.get(key);
        if (text == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, got '" + text + "'");
        }
    }

    private static EngineFactory factory(String className) {
        if (className == null || className.isBlank()) {
            return new OnnxEngineFactory();
        }
        try {
            Class<?> type = Class.forName(className.strip(), true, Thread.currentThread().getContextClassLoader());
            return (EngineFactory) type.getConstructor().newInstance();
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalArgumentException(FACTORY + "=" + className + " is not an EngineFactory class with a "
                    + "public no-argument constructor on the classpath: " + e, e);
        }
    }
}
