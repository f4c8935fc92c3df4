package com.dynaedge.demo;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.Test;

/**
 * The app's loader on a bundle written by the exporter (-Ddynaedge.bundle=DIR), then on copies
 * of its manifest and file list changed the ways a user might: each refused, naming the file.
 */
public class BundleCheckTest {
    private static Path dir() {
        return Paths.get(System.getProperty("dynaedge.bundle"));
    }

    private static byte[] bytes(String name) throws IOException {
        return Files.readAllBytes(dir().resolve(name));
    }

    private static String[] names() throws IOException {
        return dir().toFile().list();
    }

    private static BundleManifest manifest() throws IOException {
        return BundleManifest.parse(new String(bytes("manifest.json"), StandardCharsets.UTF_8));
    }

    @Test
    public void acceptsTheBundleAsExported() throws IOException {
        BundleCheck.checkSeal(bytes("manifest.json"), bytes("manifest.sha256"));
        BundleCheck.checkListed(names(), manifest());
        BundleCheck.checkFile("vocab.txt", bytes("vocab.txt"), manifest().vocabSha256);
        System.out.println("bundle accepted: " + String.join(", ", names()));
    }

    @Test
    public void refusesAnEditedManifest() throws IOException {
        byte[] edited = new String(bytes("manifest.json"), StandardCharsets.UTF_8)
                .replace("\"seq_len\": ", "\"seq_len\":  ").getBytes(StandardCharsets.UTF_8);
        refused(() -> BundleCheck.checkSeal(edited, bytes("manifest.sha256")), "manifest.json: sha256");
    }

    @Test
    public void refusesAnAddedOrRenamedFile() throws IOException {
        String[] listed = names();
        String[] added = java.util.Arrays.copyOf(listed, listed.length + 1);
        added[listed.length] = "extra.pte";
        refused(() -> BundleCheck.checkListed(added, manifest()), "extra.pte: not listed in the manifest");
    }

    @Test
    public void refusesAnEditedVocab() throws IOException {
        byte[] vocab = bytes("vocab.txt");
        byte[] edited = java.util.Arrays.copyOf(vocab, vocab.length - 1);  // truncated by one byte
        refused(() -> BundleCheck.checkFile("vocab.txt", edited, manifest().vocabSha256), "vocab.txt: sha256");
    }

    private interface Check {
        void run() throws IOException;
    }

    private static void refused(Check check, String expected) {
        try {
            check.run();
            fail("accepted a changed bundle; expected: " + expected);
        } catch (IOException e) {
            System.out.println("refused: " + e.getMessage());
            assertTrue(e.getMessage(), e.getMessage().startsWith(expected));
        }
    }
}
