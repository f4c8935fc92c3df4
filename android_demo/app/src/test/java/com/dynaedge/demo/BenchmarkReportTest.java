package com.dynaedge.demo;

import static org.junit.Assert.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.junit.Test;

/**
 * Builds a benchmark file with the app's own code from the sample manifest's artifacts
 * and writes it where pytest reads it (dynaedge.benchmark_out), so the host test can feed
 * it to `dynaedge profile import`.
 */
public class BenchmarkReportTest {
    @Test
    public void writesTheProfileImportFormat() throws IOException {
        String manifestPath = System.getProperty("dynaedge.manifest");
        String out = System.getProperty("dynaedge.benchmark_out");
        if (manifestPath == null || out == null) {
            throw new IllegalStateException("set dynaedge.manifest and dynaedge.benchmark_out; run through pytest");
        }
        BundleManifest m = BundleManifest.parse(new String(Files.readAllBytes(Paths.get(manifestPath)), StandardCharsets.UTF_8));
        BenchmarkReport report = new BenchmarkReport("Pixel 7", "Google", "GS201", "arm64-v8a", 34, "pixel-7");
        double[] times = {4.0, 3.0, 5.0, 3.5, 9.0, 3.2};  // ms, one per sentence
        int[] own = {9, 5, 14, 7, 30, 6};  // tokens per sentence, [CLS] and [SEP] included
        for (BundleManifest.Artifact a : m.artifacts) {
            int[] fed = new int[own.length];
            for (int i = 0; i < own.length; i++) {
                fed[i] = a.maxLen > 0 ? Math.min(own[i], a.maxLen) : m.seqLen;
            }
            report.add(a, m.seqLen, times, fed);
        }
        Files.write(Paths.get(out), report.toJson().getBytes(StandardCharsets.UTF_8));
    }

    @Test
    public void medianAndP90() {
        double[] sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertEquals(5.5, BenchmarkReport.percentile(sorted, 0.5), 0);
        assertEquals(9.0, BenchmarkReport.percentile(sorted, 0.9), 0);
        assertEquals(2.0, BenchmarkReport.percentile(new double[] {1, 2, 3}, 0.5), 0);
    }
}
