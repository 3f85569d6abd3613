package dev.nightshift.jobs.eval;

import org.tartarus.snowball.ext.PorterStemmer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * ROUGE-1, ROUGE-2 and ROUGE-L as Google's {@code rouge-score} package computes them (its {@code RougeScorer} with
 * {@code ["rouge1", "rouge2", "rougeL"]}), so numbers compare with published ones.
 *
 * <p>Tokenization (rouge-score's {@code tokenize.py}): lowercase; every character outside {@code [a-z0-9]} becomes a
 * space; split on white space; with stemming, tokens longer than 3 characters are Porter-stemmed. Stemming uses
 * Snowball's implementation of the original Porter algorithm ({@code org.tartarus.snowball.ext.PorterStemmer} in
 * lucene-analysis-common). rouge-score calls NLTK's {@code PorterStemmer()} in its default {@code NLTK_EXTENSIONS}
 * mode, which adds a few departures from the original algorithm (irregular forms such as "dying" or "skies", and
 * some suffix rules); on rouge-score's own test texts both give the same scores ({@code RougeTest}), on text with
 * such words a score can differ slightly.
 *
 * <p>Scores: precision = overlap / prediction n-grams, recall = overlap / reference n-grams (counts clipped per
 * n-gram), F = 2PR / (P + R), 0 when either side has no n-grams. ROUGE-L uses the longest common subsequence of the
 * two token lists (sentence-level, not rougeLsum).
 */
public final class Rouge {

    /** Precision, recall and F-measure of one comparison. */
    public record Score(double precision, double recall, double fmeasure) {
        static Score of(double overlap, int predicted, int reference) {
            if (predicted == 0 || reference == 0) {
                return new Score(0, 0, 0);
            }
            double p = overlap / predicted;
            double r = overlap / reference;
            return new Score(p, r, p + r > 0 ? 2 * p * r / (p + r) : 0);
        }
    }

    /** ROUGE-1, ROUGE-2 and ROUGE-L of one (reference, prediction) pair. */
    public record Scores(Score rouge1, Score rouge2, Score rougeL) {
    }

    private final boolean stem;

    public Rouge(boolean stem) {
        this.stem = stem;
    }

    public Scores score(String reference, String prediction) {
        List<String> target = tokens(reference);
        List<String> predicted = tokens(prediction);
        return new Scores(ngrams(target, predicted, 1), ngrams(target, predicted, 2),
                Score.of(lcs(target, predicted), predicted.size(), target.size()));
    }

    /** rouge-score's tokenizer: lowercase, non-alphanumerics to spaces, split, optionally stem tokens over 3 chars. */
    public List<String> tokens(String text) {
        List<String> tokens = new ArrayList<>();
        if (text == null) {
            return tokens;
        }
        String cleaned = text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", " ");
        PorterStemmer stemmer = stem ? new PorterStemmer() : null;
        for (String token : cleaned.trim().split(" ")) {
            if (token.isEmpty()) {
                continue;
            }
            if (stemmer != null && token.length() > 3) {
                stemmer.setCurrent(token);
                stemmer.stem();
                token = stemmer.getCurrent();
            }
            tokens.add(token);
        }
        return tokens;
    }

    private static Score ngrams(List<String> target, List<String> predicted, int n) {
        Map<String, Integer> targetCounts = counts(target, n);
        Map<String, Integer> predictedCounts = counts(predicted, n);
        int overlap = 0;
        for (Map.Entry<String, Integer> gram : predictedCounts.entrySet()) {
            overlap += Math.min(gram.getValue(), targetCounts.getOrDefault(gram.getKey(), 0));
        }
        return Score.of(overlap, Math.max(0, predicted.size() - n + 1), Math.max(0, target.size() - n + 1));
    }

    private static Map<String, Integer> counts(List<String> tokens, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i + n <= tokens.size(); i++) {
            counts.merge(String.join(" ", tokens.subList(i, i + n)), 1, Integer::sum);
        }
        return counts;
    }

    /** Length of the longest common subsequence (dynamic programming over two rows). */
    static int lcs(List<String> a, List<String> b) {
        int[] previous = new int[b.size() + 1];
        int[] current = new int[b.size() + 1];
        for (int i = 1; i <= a.size(); i++) {
            for (int j = 1; j <= b.size(); j++) {
                current[j] = a.get(i - 1).equals(b.get(j - 1)) ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.size()];
    }
}
