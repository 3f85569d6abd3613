package dev.nightshift.engine;

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
                    return factory.open(model);
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
