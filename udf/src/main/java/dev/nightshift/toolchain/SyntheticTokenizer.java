package dev.nightshift.toolchain;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A made-up llama2.c-style vocabulary of any size, for random-weight models that come without a
 * tokenizer (benchmarks, the demo): specials, the 256 byte tokens, printable ASCII, a few hundred
 * common English words (with every prefix, so BPE can build them), then syllable strings to fill the
 * vocabulary. Any text encodes (byte fallback) and every id decodes; with random weights the
 * generated text is still meaningless.
 */
public final class SyntheticTokenizer {

    private static final String WORDS = "the of and to in is was that for it on as with he be at by his had are but not from "
            + "they this have which one you were her all she there an their we him been has when who will more no if out so "
            + "said what up its about into than them can only other new some could time these two may then do first any my "
            + "now such like our over man me even most made after also did many before must through back years where much "
            + "your way well down should because each just those people how too little state good very make world still own "
            + "see men work long get here between both life being under never day same another know while last might us great "
            + "old year off come since against go came right used take three report data model table summary result review "
            + "patient contract clause market company price sales customer product service order team plan risk cost value";
    private static final String CONSONANTS = "bcdfghjklmnprstvwz";
    private static final String VOWELS = "aeiou";

    private SyntheticTokenizer() {
    }

    public static Llama2cTokenizer build(int vocabSize) {
        Set<String> pieces = new LinkedHashSet<>(List.of("<unk>", "\n<s>\n", "\n</s>\n"));
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b));
        }
        for (char c = 32; c < 127; c++) {
            pieces.add(String.valueOf(c));
        }
        for (String word : WORDS.split(" ")) {
            String spaced = " " + word;
            for (int end = 2; end <= spaced.length(); end++) {
                pieces.add(spaced.substring(0, end));
            }
        }
        List<String> syllables = new ArrayList<>();
        for (char c : CONSONANTS.toCharArray()) {
            for (char v : VOWELS.toCharArray()) {
                syllables.add("" + c + v);
            }
        }
        List<String> fillers = new ArrayList<>(syllables);
        List<String> level = syllables;
        while (fillers.size() < vocabSize) {
            List<String> longer = new ArrayList<>();
            for (String stem : level) {
                for (String syllable : syllables) {
                    longer.add(stem + syllable);
                }
            }
            fillers.addAll(longer);
            level = longer;
        }
        for (int i = 0; pieces.size() < vocabSize && i < fillers.size(); i++) {
            pieces.add((i % 2 == 0 ? " " : "") + fillers.get(i));
        }
        if (pieces.size() < vocabSize) {
            throw new IllegalArgumentException("cannot make a synthetic vocabulary of " + vocabSize + " tokens");
        }
        List<String> list = new ArrayList<>(pieces).subList(0, vocabSize);
        float[] scores = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            // Later (longer) pieces score lower, so shorter merges happen first; specials and bytes never merge.
            scores[i] = i < 259 ? 0 : -i;
        }
        int longest = list.stream().mapToInt(piece -> piece.getBytes(java.nio.charset.StandardCharsets.UTF_8).length).max().orElse(1);
        return new Llama2cTokenizer(new ArrayList<>(list), scores, longest);
    }

}
