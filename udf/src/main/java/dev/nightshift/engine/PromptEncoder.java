package dev.nightshift.engine;

import dev.nightshift.chat.ChatTemplate;
import dev.nightshift.chat.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A {@link Prompt} to the token ids the model sees: chat template around it, special tokens honoured only in the
 * prompt's own instruction text, and the overflow policy applied so that the prompt leaves room for what the task
 * needs after it.
 *
 * <p><b>Overflow.</b> A prompt that, with the room reserved after it, does not fit the context is shortened by
 * shortening its document part only (the instruction before and after it, the chat template's markers and its
 * assistant header stay whole): {@code truncate_head} keeps the document's beginning, {@code truncate_middle} its
 * beginning and end joined by " … ". Cuts fall between characters (never inside a surrogate pair, so never inside a
 * character's byte-fallback run), and the longest document that fits is found by re-encoding, so the cut is exact
 * whatever the tokenizer merges at the boundaries. The prompt keeps at least half the context: a task that reserves
 * more than that (a large {@code max_new_tokens}) gets the rest.
 */
final class PromptEncoder {

    /** What the middle of a document is replaced by under {@code truncate_middle}. */
    static final String ELISION = " … ";

    private final TextTokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final String chatProblem;
    private final int contextLength;

    PromptEncoder(TextTokenizer tokenizer, ChatTemplate chatTemplate, String chatProblem, int contextLength) {
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.chatProblem = chatProblem;
        this.contextLength = contextLength;
    }

    /**
     * An encoded prompt.
     *
     * @param ids         token ids (after truncation); on error, empty
     * @param pieces      the rendered prompt as the tokenizer saw it (for label continuations)
     * @param prefixKey   the shared prefix's rendered text (equal keys share one prefilled cache), or null
     * @param prefixIds   its ids, or null
     * @param tokens      the prompt's token count before any truncation
     * @param truncated   whether the document was shortened
     * @param warning     what was shortened, or null
     * @param error       why the prompt cannot run, or null
     */
    record Encoded(int[] ids, List<TextTokenizer.Piece> pieces, String prefixKey, int[] prefixIds, int tokens,
                   boolean truncated, String warning, String error) {
    }

    /**
     * Encodes a prompt that must leave {@code reserve} tokens of the context after it.
     *
     * @param reserve tokens the task needs after the prompt (max_new_tokens, or the longest label answer)
     * @throws IllegalArgumentException when the chat template cannot be used
     */
    Encoded encode(Prompt prompt, int reserve) {
        List<Prompt.Part> parts = prompt.hasDocument() ? prompt.parts()
                : List.of(new Prompt.Part(prompt.text(), Prompt.Kind.DOCUMENT));
        boolean wholeIsDocument = !prompt.hasDocument();
        List<TextTokenizer.Piece> pieces = render(prompt, parts, wholeIsDocument);
        int[] ids = LlmEngine.toInts(tokenizer.encode(pieces));
        if (ids.length == 0) {
            return failed(pieces, 0, ErrorCode.EMPTY_PROMPT.message("empty prompt: the model needs at least one token (a "
                    + "tokenizer without BOS gave none); check the text column or prompt template"));
        }
        int budget = Math.min(contextLength - 1, Math.max(contextLength - reserve, contextLength / 2));
        String warning = null;
        boolean truncated = false;
        int original = ids.length;
        if (ids.length > budget) {
            OverflowPolicy policy = prompt.options().overflow();
            // map_reduce is the task layer's: it splits a long document before the engine sees it, so here it is error.
            if (policy == OverflowPolicy.ERROR || policy == OverflowPolicy.MAP_REDUCE) {
                if (ids.length > contextLength - 1) {
                    return failed(pieces, ids.length, ErrorCode.CONTEXT_OVERFLOW.message("prompt of " + ids.length
                            + " tokens does not fit the model's context of " + contextLength + " tokens; shorten the text, "
                            + "or set the overflow policy to truncate_head or truncate_middle"));
                }
                // It fits, with less room after it than the task asked for: the caller decides whether that is an error.
            } else {
                Shortened shortened = shorten(prompt, parts, wholeIsDocument, budget, policy);
                if (shortened == null) {
                    return failed(pieces, ids.length, ErrorCode.CONTEXT_OVERFLOW.message("prompt of " + ids.length
                            + " tokens does not fit the model's context of " + contextLength + " tokens even with its "
                            + "document removed (" + budget + " tokens are left for the prompt after the " + reserve
                            + " the task needs); shorten the prompt template or lower max_new_tokens"));
                }
                pieces = shortened.pieces();
                ids = shortened.ids();
                truncated = true;
                warning = String.format(Locale.ROOT, "prompt truncated from %d to %d tokens (overflow %s: the document kept "
                        + "%d of %d characters)", original, ids.length, policy.name().toLowerCase(Locale.ROOT),
                        shortened.keptChars(), shortened.documentChars());
            }
        }
        String prefixKey = null;
        int[] prefixIds = null;
        String shared = prompt.sharedPrefix();
        if (!shared.isEmpty()) {
            // The chat template's text before the message, then the task's instruction: what every row starts with.
            String key = (prompt.chat() ? pieces.get(0).text() : "") + shared;
            if (concat(pieces).startsWith(key)) {
                prefixKey = key;
                prefixIds = LlmEngine.toInts(tokenizer.encode(List.of(new TextTokenizer.Piece(key, true))));
            }
        }
        return new Encoded(ids, pieces, prefixKey, prefixIds, original, truncated, warning, null);
    }

    private static Encoded failed(List<TextTokenizer.Piece> pieces, int tokens, String error) {
        return new Encoded(new int[0], pieces, null, null, tokens, false, null, error);
    }

    /** The prompt as tokenizer pieces: chat template text (trusted) around the parts. */
    private List<TextTokenizer.Piece> render(Prompt prompt, List<Prompt.Part> parts, boolean wholeIsDocument) {
        List<TextTokenizer.Piece> own = new ArrayList<>();
        for (Prompt.Part part : parts) {
            // A prompt written whole by its caller is trusted; only parts taken from data are not.
            boolean trusted = wholeIsDocument || part.kind() == Prompt.Kind.INSTRUCTION;
            own.add(new TextTokenizer.Piece(part.text(), trusted));
        }
        if (!prompt.chat()) {
            return own;
        }
        if (chatTemplate == null) {
            throw new IllegalArgumentException(chatProblem);
        }
        String content = concat(own);
        String rendered = chatTemplate.render(List.of(new ChatMessage("user", content)), true);
        int at = rendered.indexOf(content);
        if (at < 0) {
            // Templates commonly strip the message (Llama 3: message['content'] | trim).
            own = strip(own);
            content = concat(own);
            at = rendered.indexOf(content);
        }
        if (at < 0) {
            throw new IllegalArgumentException("the chat template of " + tokenizer.modelDir() + " changes the message text "
                    + "beyond trimming it, so the document cannot be kept apart from the template's special tokens; "
                    + "set chat: false for this task");
        }
        List<TextTokenizer.Piece> out = new ArrayList<>();
        out.add(new TextTokenizer.Piece(rendered.substring(0, at), true));
        out.addAll(own);
        out.add(new TextTokenizer.Piece(rendered.substring(at + content.length()), true));
        return out;
    }

    private static String concat(List<TextTokenizer.Piece> pieces) {
        StringBuilder out = new StringBuilder();
        pieces.forEach(p -> out.append(p.text()));
        return out.toString();
    }

    /** The pieces with leading and trailing white space removed across piece boundaries (Python's str.strip()). */
    static List<TextTokenizer.Piece> strip(List<TextTokenizer.Piece> pieces) {
        List<TextTokenizer.Piece> out = new ArrayList<>(pieces);
        for (int i = 0; i < out.size(); i++) {
            String text = out.get(i).text().stripLeading();
            out.set(i, new TextTokenizer.Piece(text, out.get(i).trusted()));
            if (!text.isEmpty()) {
                break;
            }
        }
        for (int i = out.size() - 1; i >= 0; i--) {
            String text = out.get(i).text().stripTrailing();
            out.set(i, new TextTokenizer.Piece(text, out.get(i).trusted()));
            if (!text.isEmpty()) {
                break;
            }
        }
        return out;
    }

    private record Shortened(List<TextTokenizer.Piece> pieces, int[] ids, int keptChars, int documentChars) {
    }

    /** The prompt with its document cut to the longest length whose prompt fits {@code budget} tokens, or null. */
    private Shortened shorten(Prompt prompt, List<Prompt.Part> parts, boolean wholeIsDocument, int budget,
                              OverflowPolicy policy) {
        int documentChars = 0;
        for (Prompt.Part part : parts) {
            documentChars += part.kind() == Prompt.Kind.DOCUMENT ? part.text().length() : 0;
        }
        Shortened none = attempt(prompt, parts, wholeIsDocument, 0, documentChars, policy);
        if (none.ids().length > budget) {
            return null;
        }
        // Largest kept length whose prompt fits: kept length grows token counts monotonically up to merges at the
        // cut, which a bisection tolerates (it returns a length that fits, maybe a few characters short of the most).
        int low = 0;
        int high = documentChars;
        Shortened best = none;
        while (low < high) {
            int mid = low + (high - low + 1) / 2;
            Shortened candidate = attempt(prompt, parts, wholeIsDocument, mid, documentChars, policy);
            if (candidate.ids().length <= budget) {
                best = candidate;
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        return best;
    }

    private Shortened attempt(Prompt prompt, List<Prompt.Part> parts, boolean wholeIsDocument, int keep, int documentChars,
                              OverflowPolicy policy) {
        List<Prompt.Part> cut = new ArrayList<>();
        int kept = 0;
        // Several document parts share the kept length in order (a template rarely has more than one {text}).
        int left = keep;
        for (Prompt.Part part : parts) {
            if (part.kind() != Prompt.Kind.DOCUMENT) {
                cut.add(part);
                continue;
            }
            String text = part.text();
            int take = Math.min(left, text.length());
            String shortened = take == text.length() ? text
                    : policy == OverflowPolicy.TRUNCATE_HEAD ? head(text, take) : middle(text, take);
            left -= take;
            kept += take;
            cut.add(new Prompt.Part(shortened, Prompt.Kind.DOCUMENT));
        }
        Prompt shortenedPrompt = new Prompt(cut, prompt.chat(), prompt.options());
        List<TextTokenizer.Piece> pieces = render(shortenedPrompt, cut, wholeIsDocument);
        return new Shortened(pieces, LlmEngine.toInts(tokenizer.encode(pieces)), kept, documentChars);
    }

    /** The first {@code chars} characters, never ending between the two halves of a surrogate pair. */
    static String head(String text, int chars) {
        int end = chars;
        if (end > 0 && end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(0, end);
    }

    /** About the first and last {@code chars / 2} characters joined by {@link #ELISION}, cut between characters. */
    static String middle(String text, int chars) {
        if (chars <= 0) {
            return "";
        }
        String head = head(text, (chars + 1) / 2);
        int start = text.length() - chars / 2;
        if (start > 0 && start < text.length() && Character.isLowSurrogate(text.charAt(start))) {
            start++;
        }
        return head + ELISION + text.substring(start);
    }
}
