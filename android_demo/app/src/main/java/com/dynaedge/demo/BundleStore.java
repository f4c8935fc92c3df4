package com.dynaedge.demo;

import android.content.Context;
import android.content.res.AssetManager;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The bundle packed in assets/bundle/, copied to app storage so ExecuTorch can open the
 * .pte files by path. The manifest is checked against its seal, the packed files against its list,
 * and every model file and vocab.txt against its sha256 before use (BundleCheck).
 */
final class BundleStore {
    static final String ASSET_DIR = "bundle";

    final File dir;
    final BundleManifest manifest;
    final WordPieceTokenizer tokenizer;
    final List<String> sentences;

    private BundleStore(File dir, BundleManifest manifest, WordPieceTokenizer tokenizer, List<String> sentences) {
        this.dir = dir;
        this.manifest = manifest;
        this.tokenizer = tokenizer;
        this.sentences = sentences;
    }

    static BundleStore open(Context context) throws IOException {
        AssetManager assets = context.getAssets();
        File dir = new File(context.getFilesDir(), ASSET_DIR);
        if (!dir.isDirectory() && !dir.mkdirs()) {
            throw new IOException("cannot create " + dir);
        }
        String[] names = assets.list(ASSET_DIR);
        if (names == null || !Arrays.asList(names).contains("manifest.json")) {
            throw new IOException("this APK has no assets/bundle/manifest.json; rebuild it with dynaedge android build");
        }
        if (!Arrays.asList(names).contains(BundleCheck.SEAL)) {
            throw new IOException(BundleCheck.SEAL + " is missing from assets/bundle; rebuild the APK with dynaedge android build");
        }
        byte[] manifestBytes = read(assets, BundleCheck.MANIFEST);
        BundleCheck.checkSeal(manifestBytes, read(assets, BundleCheck.SEAL));
        BundleManifest manifest = BundleManifest.parse(new String(manifestBytes, StandardCharsets.UTF_8));
        BundleCheck.checkListed(names, manifest);
        for (BundleManifest.Artifact a : manifest.artifacts) {
            File target = new File(dir, new File(a.path).getName());
            if (!target.isFile() || !a.sha256.equals(sha256(target))) {
                copy(assets, new File(a.path).getName(), target);
            }
            String got = sha256(target);
            if (!got.equals(a.sha256)) {
                throw new IOException(a.path + ": sha256 " + got + ", manifest says " + a.sha256);
            }
        }
        byte[] vocab = read(assets, "vocab.txt");
        if (!manifest.vocabSha256.isEmpty()) {
            BundleCheck.checkFile("vocab.txt", vocab, manifest.vocabSha256);
        }
        WordPieceTokenizer tokenizer;
        try (InputStream in = new ByteArrayInputStream(vocab)) {
            tokenizer = WordPieceTokenizer.fromVocab(in);
        }
        List<String> sentences = new ArrayList<>();
        if (Arrays.asList(names).contains("sentences.txt")) {
            for (String line : new String(read(assets, "sentences.txt"), StandardCharsets.UTF_8).split("\n")) {
                if (!line.trim().isEmpty()) {
                    sentences.add(line.trim());
                }
            }
        }
        if (sentences.isEmpty()) {
            sentences.addAll(SampleSentences.ALL);
        }
        return new BundleStore(dir, manifest, tokenizer, sentences);
    }

    File file(BundleManifest.Artifact a) {
        return new File(dir, new File(a.path).getName());
    }

    private static byte[] read(AssetManager assets, String name) throws IOException {
        try (InputStream in = assets.open(ASSET_DIR + "/" + name)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        }
    }

    private static void copy(AssetManager assets, String name, File target) throws IOException {
        File tmp = new File(target.getPath() + ".tmp");
        try (InputStream in = assets.open(ASSET_DIR + "/" + name); OutputStream out = new FileOutputStream(tmp)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
        }
        if (!tmp.renameTo(target)) {  // atomic: a half-copied model is never loaded
            throw new IOException("cannot rename " + tmp + " to " + target);
        }
    }

    static String sha256(File f) throws IOException {
        try (InputStream in = new FileInputStream(f)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return BundleCheck.hex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available on Android", e);
        }
    }
}
