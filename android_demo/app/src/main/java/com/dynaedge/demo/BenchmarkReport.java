package com.dynaedge.demo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark file `dynaedge profile import` reads:
 * {"device": {"name", "model", "manufacturer", "soc", "abi", "sdk_int", "profile"},
 *  "rows": [{"backend", "precision", "variant", "width", "depth", "seq_len", "measured_ms"}, ...]}.
 * device.name is the slug of the model ("pixel-7"), usable as a new profile name.
 *
 * measured_ms is the median of the timed runs; lengths are the tokens each run fed (its own length
 * for a length-adaptive file, else seq_len) and times_ms each run's latency, in the same order: the
 * importer fits the latency model per length from those pairs. runs, p90_ms, mean_ms and path are
 * for people. The host test writes a sample with this class.
 */
public final class BenchmarkReport {
    private final Map<String, Object> device = new LinkedHashMap<>();
    private final List<Object> rows = new ArrayList<>();

    /** model, manufacturer, soc, abi, sdk_int, profile (null when none matched). */
    public BenchmarkReport(String model, String manufacturer, String soc, String abi, int sdkInt, String profile) {
        device.put("name", DeviceMatcher.slug(model));
        device.put("model", model);
        device.put("manufacturer", manufacturer);
        device.put("soc", soc);
        device.put("abi", abi);
        device.put("sdk_int", sdkInt);
        device.put("profile", profile);
    }

    /** One model file timed over the sentences; timesMs holds one latency per run, lengths the tokens it fed. */
    public void add(BundleManifest.Artifact artifact, int seqLen, double[] timesMs, int[] lengths) {
        if (timesMs.length == 0 || lengths.length != timesMs.length) {
            throw new IllegalArgumentException(timesMs.length + " timed runs and " + lengths.length + " lengths for "
                    + artifact.path);
        }
        double[] sorted = timesMs.clone();
        Arrays.sort(sorted);
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("backend", artifact.backend);
        row.put("precision", artifact.subnet.precision);
        row.put("variant", artifact.variant);
        row.put("width", artifact.subnet.width);
        row.put("depth", artifact.subnet.depth);
        row.put("seq_len", seqLen);
        row.put("measured_ms", round(percentile(sorted, 0.5)));
        row.put("p90_ms", round(percentile(sorted, 0.9)));
        row.put("mean_ms", round(Arrays.stream(timesMs).average().orElse(0)));
        row.put("runs", sorted.length);
        List<Object> fed = new ArrayList<>();
        for (int n : lengths) {
            fed.add(n);
        }
        row.put("lengths", fed);
        List<Object> times = new ArrayList<>();
        for (double t : timesMs) {
            times.add(round(t));
        }
        row.put("times_ms", times);
        row.put("path", artifact.path);
        rows.add(row);
    }

    // nearest-rank on sorted data, midpoint for the median of an even count
    static double percentile(double[] sorted, double q) {
        if (q == 0.5 && sorted.length % 2 == 0) {
            return (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static double round(double v) {
        return Math.round(v * 1000.0) / 1000.0;
    }

    public String toJson() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("device", device);
        root.put("rows", rows);
        return Json.write(root);
    }
}
