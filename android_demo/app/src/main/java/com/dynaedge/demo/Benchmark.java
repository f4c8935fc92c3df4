package com.dynaedge.demo;

import java.util.List;
import java.util.Set;

/**
 * Times every bundled model this build can run over the bundle's sentences: a few
 * warm-up runs, then one timed forward() per sentence. The result is the JSON
 * `dynaedge profile import` reads (BenchmarkReport).
 */
final class Benchmark {
    static final int WARMUP = 3;

    interface Progress {
        void update(String message);
    }

    private Benchmark() {}

    static BenchmarkReport run(BundleStore bundle, BenchmarkReport report, Set<String> runnable, Progress progress) {
        List<String> sentences = bundle.sentences;
        int seqLen = bundle.manifest.seqLen;
        for (BundleManifest.Artifact a : bundle.manifest.artifacts) {
            if (!runnable.contains(a.backend)) {
                progress.update("skipping " + a.path + ": " + a.backend + " is not available in this build");
                continue;
            }
            progress.update("timing " + a.path + " over " + sentences.size() + " sentences");
            double[] times = new double[sentences.size()];
            int[] lengths = new int[sentences.size()];
            try (Classifier model = new Classifier(bundle.file(a), seqLen, a.maxLen)) {
                for (int i = 0; i < WARMUP; i++) {
                    model.classify(bundle.tokenizer.encode(sentences.get(i % sentences.size()), seqLen));
                }
                for (int i = 0; i < sentences.size(); i++) {
                    Encoding enc = bundle.tokenizer.encode(sentences.get(i), seqLen);
                    lengths[i] = enc.fedLength(seqLen, a.maxLen);
                    times[i] = model.classify(enc).forwardMs;
                }
            }
            report.add(a, seqLen, times, lengths);
        }
        return report;
    }
}
