package com.dynaedge.demo;

import java.io.File;
import org.pytorch.executorch.EValue;
import org.pytorch.executorch.Module;
import org.pytorch.executorch.Tensor;

/**
 * One ExecuTorch program (.pte) that maps (input_ids, attention_mask), both int32 [1, n] (exporter/data/tokenize.py),
 * to logits float32 [1, labels]. A length-adaptive file (maxLen > 0) gets the sentence at its own length n, no
 * padding; a fixed-length one gets it padded to the manifest's seq_len.
 *
 * Classes are imported by name: org.pytorch.executorch.* would clash with java.lang.Module.
 */
final class Classifier implements AutoCloseable {
    private static boolean loaded;

    /** The order matters: libexecutorch.so needs libfbjni.so, which needs libc++_shared.so. */
    static synchronized void loadNativeLibraries() {
        if (!loaded) {
            try {
                System.loadLibrary("c++_shared");
            } catch (UnsatisfiedLinkError e) {
                // Maven builds may link libc++ statically and ship no libc++_shared.so; the
                // offline APK always has it, and libfbjni.so below fails loudly if it is needed.
            }
            System.loadLibrary("fbjni");
            System.loadLibrary("executorch");
            loaded = true;
        }
    }

    /** Label index, its softmax probability, and the forward() time alone. */
    static final class Result {
        final int label;
        final double confidence;
        final double forwardMs;

        Result(int label, double confidence, double forwardMs) {
            this.label = label;
            this.confidence = confidence;
            this.forwardMs = forwardMs;
        }
    }

    private final Module module;
    private final int seqLen;
    private final int maxLen;

    /** maxLen: the artifact's BundleManifest.Artifact.maxLen (0 for a fixed-length file). */
    Classifier(File pte, int seqLen, int maxLen) {
        loadNativeLibraries();
        this.module = Module.load(pte.getAbsolutePath());
        this.seqLen = seqLen;
        this.maxLen = maxLen;
    }

    Result classify(Encoding enc) {
        int n = enc.fedLength(seqLen, maxLen);
        long[] shape = {1, n};
        EValue ids = EValue.from(Tensor.fromBlob(java.util.Arrays.copyOf(enc.inputIds, n), shape));
        EValue mask = EValue.from(Tensor.fromBlob(java.util.Arrays.copyOf(enc.attentionMask, n), shape));
        long start = System.nanoTime();
        EValue[] out = module.forward(ids, mask);
        double ms = (System.nanoTime() - start) / 1e6;
        float[] logits = out[0].toTensor().getDataAsFloatArray();
        return softmaxArgmax(logits, ms);
    }

    static Result softmaxArgmax(float[] logits, double ms) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - logits[best]);
        }
        return new Result(best, 1.0 / sum, ms);
    }

    @Override
    public void close() {
        module.destroy();
    }
}
