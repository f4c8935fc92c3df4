package com.dynaedge.demo;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.junit.Test;

/**
 * Java WordPiece against Hugging Face ids on a case file written by
 * tests/android_demo/test_tokenizer_parity.py (never committed: it holds the sentences).
 *
 * System properties: dynaedge.vocab = vocab.txt, dynaedge.cases = TSV with columns
 * base64(UTF-8 text), ids without truncation, ids at max_len, attention mask at max_len,
 * max_len (ids comma-separated, [CLS]/[SEP] included).
 */
public class TokenizerParityTest {
    private static String property(String name) {
        String value = System.getProperty(name);
        if (value == null) {
            throw new IllegalStateException("system property " + name + " is not set; run through pytest "
                    + "(tests/android_demo/test_tokenizer_parity.py)");
        }
        return value;
    }

    private static WordPieceTokenizer tokenizer() throws IOException {
        try (InputStream in = new FileInputStream(property("dynaedge.vocab"))) {
            return WordPieceTokenizer.fromVocab(in);
        }
    }

    private static int[] parse(String csv) {
        if (csv.isEmpty()) {
            return new int[0];
        }
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    private static int[] withSpecials(WordPieceTokenizer tok, List<Integer> pieces) {
        int[] ids = new int[pieces.size() + 2];
        ids[0] = tok.clsId;
        for (int i = 0; i < pieces.size(); i++) {
            ids[i + 1] = pieces.get(i);
        }
        ids[ids.length - 1] = tok.sepId;
        return ids;
    }

    @Test
    public void idsEqualHuggingFace() throws IOException {
        WordPieceTokenizer tok = tokenizer();
        int cases = 0;
        List<String> mismatches = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(Paths.get(property("dynaedge.cases")), StandardCharsets.UTF_8)) {
            String line;
            while ((line = reader.readLine()) != null) {
                String[] cols = line.split("\t", -1);
                String text = new String(Base64.getDecoder().decode(cols[0]), StandardCharsets.UTF_8);
                int[] full = parse(cols[1]);
                int[] fixed = parse(cols[2]);
                int[] mask = parse(cols[3]);
                int maxLen = Integer.parseInt(cols[4]);
                cases++;
                int[] gotFull = withSpecials(tok, tok.tokenize(text));
                Encoding enc = tok.encode(text, maxLen);
                if (!Arrays.equals(full, gotFull) || !Arrays.equals(fixed, enc.inputIds)
                        || !Arrays.equals(mask, enc.attentionMask)) {
                    mismatches.add("text=" + escape(text) + "\n  hf  =" + Arrays.toString(full)
                            + "\n  java=" + Arrays.toString(gotFull));
                }
            }
        }
        System.out.println("tokenizer parity: " + (cases - mismatches.size()) + "/" + cases + " sentences equal");
        assertTrue("no cases read", cases > 0);
        assertEquals(mismatches.size() + " of " + cases + " sentences differ from Hugging Face; first: "
                + String.join("\n", mismatches.subList(0, Math.min(5, mismatches.size()))), 0, mismatches.size());
    }

    private static String escape(String s) {
        StringBuilder out = new StringBuilder();
        s.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp > 0x7E) {
                out.append(String.format("\\u{%X}", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.toString();
    }

    @Test
    public void truncationKeepsClsAndSepAndPads() throws IOException {
        WordPieceTokenizer tok = tokenizer();
        Encoding enc = tok.encode("one two three four five six", 5);
        assertEquals(5, enc.inputIds.length);
        assertEquals(tok.clsId, enc.inputIds[0]);
        assertEquals(tok.sepId, enc.inputIds[4]);
        assertTrue(enc.truncated);
        Encoding shortOne = tok.encode("hi", 6);
        assertEquals(3, shortOne.length);
        assertEquals(tok.padId, shortOne.inputIds[5]);
        assertEquals(0, shortOne.attentionMask[5]);
        assertEquals(1, shortOne.attentionMask[2]);
    }
}
