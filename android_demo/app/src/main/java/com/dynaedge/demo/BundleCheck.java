package com.dynaedge.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Refuses a bundle changed after export, with one line naming the file: the manifest against its
 * seal (manifest.sha256, written by export), and any packed file the manifest does not list. The
 * model files and vocab.txt are checked against the manifest's sha256 by BundleStore.
 */
final class BundleCheck {
    static final String MANIFEST = "manifest.json";
    static final String SEAL = "manifest.sha256";
    /** Files a bundle may hold unlisted (as exporter/bundle.py UNLISTED, plus vocab.txt, which has its own entry). */
    static final List<String> UNLISTED = Arrays.asList(MANIFEST, SEAL, "vocab.txt", "sentences.txt");

    private BundleCheck() {
    }

    static void checkSeal(byte[] manifest, byte[] seal) throws IOException {
        String[] words = new String(seal, StandardCharsets.UTF_8).trim().split("\\s+");
        String expected = words.length > 0 ? words[0] : "";
        String got = sha256(manifest);
        if (!got.equals(expected)) {
            throw new IOException(MANIFEST + ": sha256 " + got + ", " + SEAL + " says " + expected
                    + ": the manifest was edited after export; export and build the APK again");
        }
    }

    static void checkListed(String[] names, BundleManifest manifest) throws IOException {
        Set<String> listed = new HashSet<>(UNLISTED);
        for (BundleManifest.Artifact a : manifest.artifacts) {
            listed.add(a.path);
        }
        for (String name : names) {
            if (!listed.contains(name)) {
                throw new IOException(name + ": not listed in the manifest (added or renamed after export); "
                        + "export and build the APK again");
            }
        }
    }

    static void checkFile(String name, byte[] data, String expected) throws IOException {
        String got = sha256(data);
        if (!got.equals(expected)) {
            throw new IOException(name + ": sha256 " + got + ", manifest says " + expected);
        }
    }

    static String sha256(byte[] data) {
        try {
            return hex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available on Android", e);
        }
    }

    static String hex(byte[] digest) {
        StringBuilder out = new StringBuilder();
        for (byte b : digest) {
            out.append(String.format("%02x", b));
        }
        return out.toString();
    }
}
