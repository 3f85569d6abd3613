package dev.nightshift.jobs.eval;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * ROUGE against the documented examples of Google's rouge-score (google-research/rouge, rouge_scorer_test.py):
 * its hand-made cases, and its comparison with the official ROUGE-1.5.5 on testdata/target.txt and prediction.txt
 * (lines 0 and 1, with and without stemming; expected values to 5 decimals as that test states them).
 */
class RougeTest {

    private static final Rouge PLAIN = new Rouge(false);
    private static final Rouge STEMMED = new Rouge(true);

    // rouge-score testdata/pyrouge_files target.0/prediction.0 and target.1/prediction.1 (Apache-2.0): random words
    // with English suffixes, made to exercise the stemmer.
    private static final String TARGET_0 = "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing "
            + "Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L";
    private static final String PREDICTION_0 = "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl "
            + "jB-RPP'iyOIcUxi";
    private static final String TARGET_1 = "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion "
            + "psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing "
            + "UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN";
    private static final String PREDICTION_1 = "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier "
            + "LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD";

    private static void assertScore(double precision, double recall, double f, Rouge.Score actual, double delta) {
        assertEquals(precision, actual.precision(), delta, "precision");
        assertEquals(recall, actual.recall(), delta, "recall");
        assertEquals(f, actual.fmeasure(), delta, "F");
    }

    @Test
    void theReferenceImplementationsHandMadeCases() {
        assertScore(1, 1.0 / 3, 0.5, PLAIN.score("testing one two", "testing").rouge1(), 1e-12);
        assertScore(1, 0.5, 2.0 / 3, PLAIN.score("testing one two", "testing one").rouge2(), 1e-12);
        assertScore(1, 2.0 / 3, 0.8, PLAIN.score("testing one two", "testing one").rougeL(), 1e-12);
        assertScore(1, 2.0 / 3, 0.8, PLAIN.score("testing one two", "testing two").rougeL(), 1e-12);
        assertScore(1, 2.0 / 3, 0.8, PLAIN.score("testing one two", "testing one").rouge1(), 1e-12);
        Rouge.Scores empty = PLAIN.score("testing one two", "");
        for (Rouge.Score s : List.of(empty.rouge1(), empty.rouge2(), empty.rougeL())) {
            assertScore(0, 0, 0, s, 0);
        }
        // All non-word characters tokenize to nothing.
        assertScore(0, 0, 0, PLAIN.score("w1 w2 w3 w4 w5", "/").rougeL(), 0);
    }

    @Test
    void againstRouge155WithoutStemming() {
        Rouge.Scores first = PLAIN.score(TARGET_0, PREDICTION_0);
        assertScore(0.68750, 0.40741, 0.51163, first.rouge1(), 5e-6);
        assertScore(0.53333, 0.30769, 0.39024, first.rouge2(), 5e-6);
        assertScore(0.68750, 0.40741, 0.51163, first.rougeL(), 5e-6);
        Rouge.Scores second = PLAIN.score(TARGET_1, PREDICTION_1);
        assertScore(0.65385, 0.40476, 0.50000, second.rouge1(), 5e-6);
        assertScore(0.48000, 0.29268, 0.36364, second.rouge2(), 5e-6);
        assertScore(0.65385, 0.40476, 0.50000, second.rougeL(), 5e-6);
    }

    @Test
    void againstRouge155WithPorterStemming() {
        Rouge.Scores first = STEMMED.score(TARGET_0, PREDICTION_0);
        assertScore(0.68750, 0.40741, 0.51163, first.rouge1(), 5e-6);
        assertScore(0.53333, 0.30769, 0.39024, first.rouge2(), 5e-6);
        Rouge.Scores second = STEMMED.score(TARGET_1, PREDICTION_1);
        assertScore(0.69231, 0.42857, 0.52941, second.rouge1(), 5e-6);
        assertScore(0.48000, 0.29268, 0.36364, second.rouge2(), 5e-6);
    }

    @Test
    void tokenizationLowercasesSplitsOnNonAlphanumericsAndStemsOnlyLongTokens() {
        assertEquals(List.of("hello", "world", "it", "s", "2024"), PLAIN.tokens("Hello, World! It's 2024"));
        // "was" has 3 characters, so it is not stemmed (Porter would make it "wa").
        assertEquals(List.of("run", "poni", "was", "cat"), STEMMED.tokens("Running ponies was cats"));
    }
}
