package dev.nightshift.engine;

import java.io.Serializable;
import java.util.Optional;

/**
 * What the driver needs to know about a model folder, read from its config files without opening ONNX Runtime
 * ({@link ModelFolder#card()}); small and serializable, so it can travel to executors.
 *
 * @param id              the folder's name
 * @param fingerprint     {@link ModelFolder#fingerprint()} (equal to the engine's {@link ModelInfo#fingerprint()})
 * @param contextLength   tokens of context the configs declare (2048 when they declare none)
 * @param hasChatTemplate whether the folder has a chat template, usable or not
 * @param vocabSize       the vocabulary size the configs declare, 0 when they declare none
 * @param templateProblem why the folder's chat template cannot be used (it does not compile, or fails on a one-message
 *                        conversation), null when it can or there is none
 */
public record ModelCard(String id, String fingerprint, int contextLength, boolean hasChatTemplate, int vocabSize,
                        String templateProblem) implements Serializable {

    /**
     * Whether a task's prompts are wrapped in this model's chat template.
     *
     * @param setting a task's {@code chat}: true, false, or auto (when the model has a template)
     */
    public boolean usesChat(String setting) {
        return switch (setting) {
            case "true" -> true;
            case "false" -> false;
            default -> hasChatTemplate;
        };
    }

    /** Why the chat template cannot be used, if it cannot. */
    public Optional<String> chatTemplateProblem() {
        return Optional.ofNullable(templateProblem);
    }
}
