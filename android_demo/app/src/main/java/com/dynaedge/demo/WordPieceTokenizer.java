package com.dynaedge.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * BERT uncased WordPiece, giving the same ids as Hugging Face's BertTokenizerFast
 * (tokenizers' BertNormalizer + BertPreTokenizer + WordPiece + [CLS]/[SEP] template).
 *
 * Plain Java on purpose: the app uses it on the phone and JUnit checks it on the host JVM
 * against ids Hugging Face produced for the same sentences.
 *
 * Steps, in Hugging Face's order (after the special tokens are matched in the raw text):
 *   1. clean: drop NUL, U+FFFD and "other" characters (Cc, Cf, Co, Cs; tab/newline/CR are
 *      kept as whitespace), then map every whitespace character to ' ';
 *   2. put spaces around CJK ideographs so each becomes its own word;
 *   3. strip accents: NFD, then drop non-spacing marks (Mn);
 *   4. lower-case each code point with its full, context-free mapping;
 *   5. split on whitespace, then isolate each punctuation character;
 *   6. greedy longest-match-first WordPiece with "##" continuations; a word longer than
 *      100 code points, or one that cannot be covered by the vocabulary, becomes [UNK].
 */
public final class WordPieceTokenizer {
    public static final int MAX_CHARS_PER_WORD = 100;
    private static final String CONTINUATION = "##";
    private static final String[] SPECIAL_TOKENS = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

    private final Map<String, Integer> vocab;
    public final int clsId;
    public final int sepId;
    public final int padId;
    public final int unkId;

    public WordPieceTokenizer(Map<String, Integer> vocab) {
        this.vocab = vocab;
        this.clsId = special(vocab, "[CLS]");
        this.sepId = special(vocab, "[SEP]");
        this.padId = special(vocab, "[PAD]");
        this.unkId = special(vocab, "[UNK]");
        special(vocab, "[MASK]");
    }

    private static int special(Map<String, Integer> vocab, String token) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IllegalArgumentException("vocab.txt has no " + token + " token; is it a BERT vocabulary?");
        }
        return id;
    }

    /** vocab.txt: one token per line, id = line number from 0 (trailing whitespace trimmed, as Hugging Face does). */
    public static WordPieceTokenizer fromVocab(InputStream in) throws IOException {
        Map<String, Integer> vocab = new HashMap<>();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        String line;
        int index = 0;
        while ((line = reader.readLine()) != null) {
            vocab.put(stripTrailing(line), index++);
        }
        if (vocab.isEmpty()) {
            throw new IOException("vocab.txt is empty");
        }
        return new WordPieceTokenizer(vocab);
    }

    private static String stripTrailing(String s) {
        int end = s.length();
        while (end > 0 && isWhitespace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    /** Model input: [CLS] tokens [SEP], truncated then padded to maxLen, with its attention mask. */
    public Encoding encode(String text, int maxLen) {
        if (maxLen < 2) {
            throw new IllegalArgumentException("maxLen must be >= 2 for [CLS] and [SEP], got " + maxLen);
        }
        List<Integer> pieces = tokenize(text);
        int kept = Math.min(pieces.size(), maxLen - 2);
        int[] ids = new int[maxLen];
        int[] mask = new int[maxLen];
        ids[0] = clsId;
        for (int i = 0; i < kept; i++) {
            ids[i + 1] = pieces.get(i);
        }
        ids[kept + 1] = sepId;
        for (int i = 0; i < maxLen; i++) {
            if (i < kept + 2) {
                mask[i] = 1;
            } else {
                ids[i] = padId;
            }
        }
        return new Encoding(ids, mask, kept + 2, pieces.size() > kept);
    }

    /** Word-piece ids without the added [CLS]/[SEP], truncation or padding. */
    public List<Integer> tokenize(String text) {
        List<Integer> out = new ArrayList<>();
        int from = 0;
        while (from < text.length()) {
            // Hugging Face matches its special tokens in the raw text first (case-sensitive,
            // not normalized): "a[MASK]b" is a, [MASK], b. The rest goes through steps 1-6.
            int at = text.length();
            String special = null;
            for (String s : SPECIAL_TOKENS) {
                int i = text.indexOf(s, from);
                if (i >= 0 && (i < at || (i == at && s.length() > special.length()))) {
                    at = i;
                    special = s;
                }
            }
            for (String word : preTokenize(normalize(text.substring(from, at)))) {
                wordPiece(word, out);
            }
            if (special == null) {
                break;
            }
            out.add(vocab.get(special));
            from = at + special.length();
        }
        return out;
    }

    /** Steps 1-4 (BertNormalizer with clean_text, handle_chinese_chars, strip_accents, lowercase). */
    static String normalize(String text) {
        StringBuilder cleaned = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                continue;
            }
            if (isWhitespace(cp)) {
                cleaned.append(' ');
            } else if (isChineseChar(cp)) {
                cleaned.append(' ').appendCodePoint(cp).append(' ');
            } else {
                cleaned.appendCodePoint(cp);
            }
        }
        String decomposed = Normalizer.normalize(cleaned, Normalizer.Form.NFD);
        StringBuilder out = new StringBuilder(decomposed.length());
        for (int i = 0; i < decomposed.length(); ) {
            int cp = decomposed.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.getType(cp) == Character.NON_SPACING_MARK) {
                continue;
            }
            appendLowerCase(out, cp);
        }
        return out.toString();
    }

    // Hugging Face lower-cases code point by code point (Rust's char::to_lowercase: full
    // mapping, no final-sigma context); a one-code-point String.toLowerCase does the same.
    private static void appendLowerCase(StringBuilder out, int cp) {
        if (cp < 0x80) {
            out.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
        } else {
            out.append(new String(Character.toChars(cp)).toLowerCase(Locale.ROOT));
        }
    }

    /** Step 5 (BertPreTokenizer): whitespace separates words, each punctuation mark is a word. */
    static List<String> preTokenize(String normalized) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < normalized.length(); ) {
            int cp = normalized.codePointAt(i);
            i += Character.charCount(cp);
            if (isWhitespace(cp)) {
                flush(word, words);
            } else if (isPunctuation(cp)) {
                flush(word, words);
                words.add(new String(Character.toChars(cp)));
            } else {
                word.appendCodePoint(cp);
            }
        }
        flush(word, words);
        return words;
    }

    private static void flush(StringBuilder word, List<String> words) {
        if (word.length() > 0) {
            words.add(word.toString());
            word.setLength(0);
        }
    }

    /** Step 6: greedy longest-match-first over code points; any gap makes the whole word [UNK]. */
    private void wordPiece(String word, List<Integer> out) {
        int[] cps = word.codePoints().toArray();
        if (cps.length > MAX_CHARS_PER_WORD) {
            out.add(unkId);
            return;
        }
        List<Integer> pieces = new ArrayList<>();
        int start = 0;
        while (start < cps.length) {
            Integer found = null;
            int end = cps.length;
            while (start < end) {
                String sub = new String(cps, start, end - start);
                if (start > 0) {
                    sub = CONTINUATION + sub;
                }
                found = vocab.get(sub);
                if (found != null) {
                    break;
                }
                end--;
            }
            if (found == null) {
                out.add(unkId);
                return;
            }
            pieces.add(found);
            start = end;
        }
        out.addAll(pieces);
    }

    // Rust's char::is_whitespace is Unicode White_Space, which differs from
    // Character.isWhitespace (that one excludes no-break spaces and includes U+001C-U+001F).
    static boolean isWhitespace(int cp) {
        switch (cp) {
            case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20:
            case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
            case 0x202F: case 0x205F: case 0x3000:
                return true;
            default:
                return cp >= 0x2000 && cp <= 0x200A;
        }
    }

    // "Other" in Hugging Face's unicode_categories: Cc, Cf, Co, Cs. Unassigned (Cn)
    // characters are kept, and become [UNK] later (checked against Hugging Face).
    static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            return false;
        }
        int type = Character.getType(cp);
        return type == Character.CONTROL || type == Character.FORMAT
                || type == Character.PRIVATE_USE || type == Character.SURROGATE;
    }

    static boolean isChineseChar(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF)
                || (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F)
                || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    // BERT's punctuation: all non-alphanumeric printable ASCII, plus Unicode categories P*.
    static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
            return true;
        }
        switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION: case Character.DASH_PUNCTUATION:
            case Character.START_PUNCTUATION: case Character.END_PUNCTUATION:
            case Character.INITIAL_QUOTE_PUNCTUATION: case Character.FINAL_QUOTE_PUNCTUATION:
            case Character.OTHER_PUNCTUATION:
                return true;
            default:
                return false;
        }
    }
}
