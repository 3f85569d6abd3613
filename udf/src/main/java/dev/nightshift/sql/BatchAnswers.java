package dev.nightshift.sql;

import dev.nightshift.engine.ErrorCode;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;
import dev.nightshift.task.TaskOutput;

import java.util.ArrayList;
import java.util.List;

/**
 * One {@code llm_*} call over a batch of rows, on an executor: the rows' texts become prompts exactly as the nightly
 * job renders them ({@code {text}} filled in, the chat template applied as resolved on the driver), the batch goes to
 * the engine in one call, and each answer becomes the call's result value ({@link ResultValues}). A NULL text gives
 * NULL without running the model; a blank text, an engine failure or an unusable answer gives the row's error.
 */
final class BatchAnswers {

    private final LlmRequest request;
    private final boolean chat;
    private final double inputPricePer1M;

    /**
     * @param chat             the request's chat setting resolved against the model
     * @param inputPricePer1M  estimate_cost: the API's price, else 0
     */
    BatchAnswers(LlmRequest request, boolean chat, double inputPricePer1M) {
        this.request = request;
        this.chat = chat;
        this.inputPricePer1M = inputPricePer1M;
    }

    /** One result value per text, in order (Catalyst values of the call's result type, or null). */
    Object[] answer(TextGenerator engine, List<String> texts) {
        Object[] values = new Object[texts.size()];
        switch (request.function()) {
            case COUNT_TOKENS, ESTIMATE_COST -> {
                for (int i = 0; i < texts.size(); i++) {
                    String text = texts.get(i);
                    if (text != null) {
                        int tokens = engine.countTokens(text);
                        values[i] = request.function() == LlmFunction.COUNT_TOKENS ? (Object) tokens
                                : tokens * inputPricePer1M / 1e6;
                    }
                }
                return values;
            }
            default -> {
                List<Integer> rows = new ArrayList<>();
                List<Prompt> prompts = new ArrayList<>();
                for (int i = 0; i < texts.size(); i++) {
                    String text = texts.get(i);
                    if (text == null) {
                        continue;
                    }
                    if (text.isBlank()) {
                        values[i] = ResultValues.failed(request, ErrorCode.EMPTY_TEXT.message("the text is blank"));
                        continue;
                    }
                    List<String> parts = request.task().template().renderParts(name -> name.equals("text") ? text : null);
                    rows.add(i);
                    prompts.add(request.task().prompt(parts, chat));
                }
                if (prompts.isEmpty()) {
                    return values;
                }
                List<TaskOutput> outputs = request.task().runConfined(engine, prompts);
                for (int k = 0; k < rows.size(); k++) {
                    values[rows.get(k)] = ResultValues.of(request, outputs.get(k));
                }
                return values;
            }
        }
    }
}
