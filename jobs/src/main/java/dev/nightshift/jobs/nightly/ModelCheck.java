package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineHolder;
import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.ModelCard;
import dev.nightshift.engine.ModelFolder;
import dev.nightshift.engine.Reason;
import dev.nightshift.engine.TextGenerator;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model side of the checks made before any inference: the folder is a readable converted model, its chat
 * template works for every task that uses it, and (local master) the engine opens. Problems are
 * {@link JobConfigException}s pointing at {@code model.path}.
 */
final class ModelCheck {

    private final JobConfig config;

    ModelCheck(JobConfig config) {
        this.config = config;
    }

    /** The model folder is readable and looks like a converted model; returns its card (fingerprint, template). */
    ModelCard card() {
        String path = config.model().path();
        if (path.matches("[A-Za-z][A-Za-z0-9+.-]*:/.*") && !path.startsWith("file:")) {
            throw new JobConfigException(where() + ": " + path + " is not a local path; "
                    + "the engine reads the model folder from each executor's file system (use a shared mount)");
        }
        Path folder = Path.of(path.startsWith("file:") ? java.net.URI.create(path).getPath() : path);
        if (!Files.isDirectory(folder)) {
            throw new JobConfigException(where() + ": model folder " + folder
                    + " does not exist; convert a model with `nightshift convert` or fix the path");
        }
        ModelFolder model = ModelFolder.open(folder);
        if (!Files.isReadable(folder) || !Files.isReadable(model.file(ModelFolder.MODEL))) {
            throw new JobConfigException(where() + ": " + folder + " is not a readable "
                    + "model folder (no readable " + ModelFolder.MODEL + "); point it at the output of `nightshift convert`");
        }
        try {
            return model.card();
        } catch (IOException e) {
            throw new JobConfigException(where() + ": cannot read model folder " + folder + ": " + e.getMessage(), e);
        }
    }

    /** The executor form of each configured task, its chat flag resolved against the model. */
    List<TaskSpec> taskSpecs(ModelCard model) {
        // the card's template was parsed and trial-rendered, so a broken one is known here, before any inference
        String templateProblem = model.templateProblem();
        List<TaskSpec> specs = new ArrayList<>();
        for (JobConfig.Task task : config.tasks()) {
            boolean chat = model.usesChat(task.chat());
            if (chat && templateProblem != null) {
                // running on without the template would send every prompt unformatted (or, before, half-rendered)
                throw new JobConfigException(where() + ": task " + task.name()
                        + " uses the model's chat template, which cannot be used: " + templateProblem
                        + "; fix the template or set the task's chat: false");
            }
            specs.add(TaskSpec.of(task, chat));
        }
        return specs;
    }

    /**
     * Local master: the driver is the executor, so open (and check) the model now, once, before anything runs; its
     * provider and warnings go to {@code notes} and the listener.
     */
    void openLocally(SparkSession spark, EngineFactory engines, EngineNotes notes, JobListener listener) {
        if (!spark.sparkContext().isLocal()) {
            return;
        }
        try {
            TextGenerator engine = EngineHolder.get(engines, config.model().settings());
            notes.provider(engine.model().provider());
            notes.addAll(engine.warnings());
            engine.warnings().forEach(listener::warning);
        } catch (UncheckedIOException | IllegalArgumentException e) {
            throw new JobConfigException(where() + ": cannot open the model: " + Reason.of(e), e);
        }
    }

    private String where() {
        return config.locations().of("model.path");
    }
}
