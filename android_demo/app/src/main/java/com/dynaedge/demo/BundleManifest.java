package com.dynaedge.demo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** The parts of the bundle's manifest.json the app uses (schema in shared/DESIGN.md). */
public final class BundleManifest {
    public static final int SCHEMA = 1;

    /** A sub-network: width and depth multipliers and a precision (fp32, int8, ternary). */
    public static final class Subnet {
        public final double width;
        public final double depth;
        public final String precision;

        Subnet(double width, double depth, String precision) {
            this.width = width;
            this.depth = depth;
            this.precision = precision;
        }

        public boolean sameAs(double width, double depth, String precision) {
            return Math.abs(this.width - width) < 1e-9 && Math.abs(this.depth - depth) < 1e-9
                    && this.precision.equals(precision);
        }

        @Override
        public String toString() {
            return "width " + width + ", depth " + depth + ", " + precision;
        }
    }

    /** What export chose for one device profile and budget, and why. */
    public static final class Choice {
        public final String device;
        public final double budgetMs;
        public final Subnet subnet;
        public final String backend;
        public final double predictedMs;
        public final String reason;
        /** The exact file chosen (e.g. w0.5-d1-int8-dynamic.pte); "" in bundles written before variants. */
        public final String path;

        Choice(String device, double budgetMs, Subnet subnet, String backend, double predictedMs, String reason,
               String path) {
            this.device = device;
            this.budgetMs = budgetMs;
            this.subnet = subnet;
            this.backend = backend;
            this.predictedMs = predictedMs;
            this.reason = reason;
            this.path = path;
        }
    }

    /** One model file of the bundle. */
    public static final class Artifact {
        public final String path;
        public final String backend;
        public final Subnet subnet;
        public final long bytes;
        public final String sha256;
        /** The variant's name in the exporter's tables (e.g. int8-dynamic); older bundles: the precision. */
        public final String variant;
        /** The longest input a length-adaptive file takes ("input_lengths": "2..64"); 0: exactly seq_len. */
        public final int maxLen;

        Artifact(String path, String backend, Subnet subnet, long bytes, String sha256, String variant, int maxLen) {
            this.path = path;
            this.backend = backend;
            this.subnet = subnet;
            this.bytes = bytes;
            this.sha256 = sha256;
            this.variant = variant;
            this.maxLen = maxLen;
        }
    }

    public final int seqLen;
    public final List<String> labels;
    public final List<Choice> choices;
    public final List<Artifact> artifacts;
    /** vocab.txt's sha256 as the manifest lists it; "" when the manifest has no vocab entry. */
    public final String vocabSha256;

    private BundleManifest(int seqLen, List<String> labels, List<Choice> choices, List<Artifact> artifacts,
                           String vocabSha256) {
        this.seqLen = seqLen;
        this.labels = labels;
        this.choices = choices;
        this.artifacts = artifacts;
        this.vocabSha256 = vocabSha256;
    }

    public static BundleManifest parse(String json) {
        Map<String, Object> root = Json.parseObject(json);
        int schema = (int) number(root, "schema");
        if (schema != SCHEMA) {
            throw new IllegalArgumentException("manifest schema " + schema + " not supported; this app reads schema "
                    + SCHEMA + " (rebuild the APK with the same dynaedge as the bundle)");
        }
        List<Choice> choices = new ArrayList<>();
        for (Map<String, Object> c : objects(root, "choices")) {
            Map<String, Object> s = object(c, "subnet");
            choices.add(new Choice(string(c, "device"), number(c, "budget_ms"), subnet(s), string(c, "backend"),
                    number(c, "predicted_ms"), c.containsKey("reason") ? string(c, "reason") : "",
                    c.containsKey("path") ? string(c, "path") : ""));
        }
        List<Artifact> artifacts = new ArrayList<>();
        for (Map<String, Object> a : objects(root, "artifacts")) {
            artifacts.add(new Artifact(string(a, "path"), string(a, "backend"), subnet(a),
                    (long) number(a, "bytes"), string(a, "sha256"),
                    a.containsKey("variant") ? string(a, "variant") : string(a, "precision"), maxLen(a)));
        }
        String vocab = root.containsKey("vocab") ? string(object(root, "vocab"), "sha256") : "";
        return new BundleManifest((int) number(root, "seq_len"), labels(root),
                Collections.unmodifiableList(choices), Collections.unmodifiableList(artifacts), vocab);
    }

    /** The file a choice names: its path if it has one, else its sub-network on its backend; null if absent. */
    public Artifact artifact(Choice choice) {
        if (!choice.path.isEmpty()) {
            for (Artifact a : artifacts) {
                if (a.path.equals(choice.path)) {
                    return a;
                }
            }
            return null;
        }
        return artifact(choice.subnet, choice.backend);
    }

    /** The model file for a sub-network on a backend, or null if the bundle has none. */
    public Artifact artifact(Subnet subnet, String backend) {
        for (Artifact a : artifacts) {
            if (a.backend.equals(backend) && a.subnet.sameAs(subnet.width, subnet.depth, subnet.precision)) {
                return a;
            }
        }
        return null;
    }

    public String label(int index) {
        return index < labels.size() ? labels.get(index) : "label " + index;
    }

    // "2..64" -> 64; "fixed" or absent (bundles before length-adaptive files) -> 0
    static int maxLen(Map<String, Object> artifact) {
        String lengths = artifact.containsKey("input_lengths") ? string(artifact, "input_lengths") : "fixed";
        if (lengths.equals("fixed")) {
            return 0;
        }
        int dots = lengths.indexOf("..");
        if (dots < 0) {
            throw new IllegalArgumentException("artifact " + artifact.get("path") + ": input_lengths '" + lengths
                    + "' is neither 'fixed' nor 'MIN..MAX'");
        }
        return Integer.parseInt(lengths.substring(dots + 2));
    }

    private static Subnet subnet(Map<String, Object> m) {
        return new Subnet(number(m, "width"), number(m, "depth"), string(m, "precision"));
    }

    // data.labels (e.g. ["negative", "positive"]) when export recorded them
    private static List<String> labels(Map<String, Object> root) {
        List<String> out = new ArrayList<>();
        Object data = root.get("data");
        if (data instanceof Map && ((Map<?, ?>) data).get("labels") instanceof List) {
            for (Object o : (List<?>) ((Map<?, ?>) data).get("labels")) {
                out.add(String.valueOf(o));
            }
        }
        return Collections.unmodifiableList(out);
    }

    private static Object field(Map<String, Object> m, String key) {
        if (!m.containsKey(key)) {
            throw new IllegalArgumentException("manifest: missing field '" + key + "' in " + m.keySet());
        }
        return m.get(key);
    }

    private static double number(Map<String, Object> m, String key) {
        Object v = field(m, key);
        if (!(v instanceof Double)) {
            throw new IllegalArgumentException("manifest: field '" + key + "' should be a number, got " + v);
        }
        return (Double) v;
    }

    private static String string(Map<String, Object> m, String key) {
        Object v = field(m, key);
        if (!(v instanceof String)) {
            throw new IllegalArgumentException("manifest: field '" + key + "' should be a string, got " + v);
        }
        return (String) v;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Map<String, Object> m, String key) {
        Object v = field(m, key);
        if (!(v instanceof Map)) {
            throw new IllegalArgumentException("manifest: field '" + key + "' should be an object, got " + v);
        }
        return (Map<String, Object>) v;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> objects(Map<String, Object> m, String key) {
        Object v = m.get(key);
        List<Map<String, Object>> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (!(v instanceof List)) {
            throw new IllegalArgumentException("manifest: field '" + key + "' should be a list, got " + v);
        }
        for (Object o : (List<Object>) v) {
            if (!(o instanceof Map)) {
                throw new IllegalArgumentException("manifest: '" + key + "' holds a non-object " + o);
            }
            out.add((Map<String, Object>) o);
        }
        return out;
    }
}
