package dev.nightshift.engine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One engine per executor JVM and model: opened lazily by the first task that needs it, then shared by every task
 * of that JVM (the engine is thread-safe), and closed when the JVM exits. A failed open is not cached, so a retried
 * task tries again. Factories are compared by value (make them records), since each task deserializes its own copy.
 */
public final class EngineHolder {

    /**
     * Start of the INFO line logged each time an engine opens (model folder, provider, for a cuda model the device it
     * was given as {@link #CUDA_DEVICE}, process id follow), so a cluster's executor logs show how often each JVM
     * loaded a model (once per model and device) and which GPU each executor's tasks were assigned.
     */
    public static final String OPENED = "Nightshift engine opened:";

    /**
     * In the {@link #OPENED} line of a model configured for cuda: {@code "cuda device <id>"}, the CUDA device id the
     * engine was opened with (the task's assigned GPU, see {@code TaskGpu}), also when the engine fell back to CPU.
     */
    public static final String CUDA_DEVICE = "cuda device ";

    private static final Logger LOG = LoggerFactory.getLogger(EngineHolder.class);

    private record Key(EngineFactory factory, ModelSettings model) {
    }

    private static final Map<Key, TextGenerator> ENGINES = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(EngineHolder::closeAll, "nightshift-engine-close"));
    }

    private EngineHolder() {
    }

    /** The JVM's engine for this model, opening it on first use. */
    public static TextGenerator get(EngineFactory factory, ModelSettings model) {
        Key key = new Key(factory, model);
        TextGenerator engine = ENGINES.get(key);
        if (engine != null) {
            return engine;
        }
        synchronized (EngineHolder.class) {
            return ENGINES.computeIfAbsent(key, k -> {
                try {
                    TextGenerator opened = factory.open(model);
                    EngineOptions options = model.engineOptions();
                    // The requested device also when the engine fell back to CPU: it shows what the scheduler gave.
                    String device = options.provider().equals("cuda") ? ", " + CUDA_DEVICE + options.deviceId() : "";
                    LOG.info("{} model {}, provider {}{}, process {}", OPENED, model.path(), opened.model().provider(),
                            device, ProcessHandle.current().pid());
                    return opened;
                } catch (IOException e) {
                    throw new UncheckedIOException(e.getMessage(), e);
                }
            });
        }
    }

    /** Closes and forgets every engine (tests; the shutdown hook). */
    public static synchronized void closeAll() {
        for (TextGenerator engine : ENGINES.values()) {
            try {
                engine.close();
            } catch (RuntimeException ignored) {
                // closing at exit: nothing left to report to
            }
        }
        ENGINES.clear();
    }
}
