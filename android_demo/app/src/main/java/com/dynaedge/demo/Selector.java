package com.dynaedge.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Picks the manifest's choice for a device profile and budget, and the model file to run.
 *
 * The choice itself was made at export time by the Python selector (a pure function of
 * the sub-network table, the profile and the budget); this class finds it and says why:
 *   1. the choices for the profile on a backend this build runs (export writes one per runtime:
 *      ExecuTorch for this app, LiteRT for apps that embed it); none: the fallback below;
 *   2. with a budget: the choice made for exactly that budget, else for the largest
 *      budget under it, else for the smallest budget there is; without one, the
 *      strictest (smallest) budget exported;
 *   3. the exact file the choice names. Only bundles from before per-runtime choices can name a
 *      backend this build cannot run; then the same sub-network on a runnable one, said so.
 * Unknown device: the choice with the lowest predicted latency of any profile, the
 * safest guess for a phone we have no profile for.
 */
public final class Selector {
    /** The outcome: what was picked, the artifact to load, and a sentence for the screen. */
    public static final class Selection {
        public final BundleManifest.Choice choice;
        public final BundleManifest.Artifact artifact;
        public final String backend;
        public final String reason;

        Selection(BundleManifest.Choice choice, BundleManifest.Artifact artifact, String backend, String reason) {
            this.choice = choice;
            this.artifact = artifact;
            this.backend = backend;
            this.reason = reason;
        }
    }

    private Selector() {}

    /**
     * @param profile  device profile name (e.g. "pixel-7"), or null when the phone matched none
     * @param budgetMs latency budget, or null for the strictest one exported
     * @param runnable backends this build can run ("executorch" offline; plus "tflite" in Gradle)
     */
    public static Selection select(BundleManifest m, String profile, Double budgetMs, Set<String> runnable) {
        if (m.choices.isEmpty()) {
            throw new IllegalArgumentException("the manifest has no choices; export with --budget to get them");
        }
        List<BundleManifest.Choice> mine = new ArrayList<>();
        for (BundleManifest.Choice c : m.choices) {
            if (c.device.equals(profile) && runnable.contains(c.backend)) {
                mine.add(c);
            }
        }
        if (mine.isEmpty()) {  // a bundle from before per-runtime choices: its one choice per profile
            for (BundleManifest.Choice c : m.choices) {
                if (c.device.equals(profile)) {
                    mine.add(c);
                }
            }
        }
        BundleManifest.Choice pick;
        StringBuilder why = new StringBuilder();
        if (mine.isEmpty()) {
            pick = fastest(runnableOrAll(m.choices, runnable));
            why.append(profile == null ? "no device profile matches this phone" : "no choice for profile " + profile)
                    .append("; using the fastest choice in the bundle (made for ").append(pick.device).append(", ")
                    .append(ms(pick.predictedMs)).append(" predicted there)");
        } else {
            pick = byBudget(mine, budgetMs, why);
            why.append(pick.reason.isEmpty() ? "" : "; export said: " + pick.reason);
        }
        return withArtifact(m, pick, runnable, why);
    }

    private static List<BundleManifest.Choice> runnableOrAll(List<BundleManifest.Choice> choices, Set<String> runnable) {
        List<BundleManifest.Choice> out = new ArrayList<>();
        for (BundleManifest.Choice c : choices) {
            if (runnable.contains(c.backend)) {
                out.add(c);
            }
        }
        return out.isEmpty() ? choices : out;
    }

    private static BundleManifest.Choice fastest(List<BundleManifest.Choice> choices) {
        BundleManifest.Choice best = choices.get(0);
        for (BundleManifest.Choice c : choices) {
            if (c.predictedMs < best.predictedMs) {
                best = c;
            }
        }
        return best;
    }

    private static BundleManifest.Choice byBudget(List<BundleManifest.Choice> mine, Double budgetMs, StringBuilder why) {
        BundleManifest.Choice smallest = mine.get(0);
        BundleManifest.Choice under = null;
        for (BundleManifest.Choice c : mine) {
            if (c.budgetMs < smallest.budgetMs) {
                smallest = c;
            }
            if (budgetMs != null && c.budgetMs <= budgetMs + 1e-9 && (under == null || c.budgetMs > under.budgetMs)) {
                under = c;
            }
        }
        String profile = smallest.device;
        if (budgetMs == null) {
            why.append("profile ").append(profile).append(", strictest exported budget ").append(ms(smallest.budgetMs));
            return smallest;
        }
        if (under != null) {
            boolean exact = Math.abs(under.budgetMs - budgetMs) < 1e-9;
            why.append("profile ").append(profile).append(", budget ").append(ms(budgetMs))
                    .append(exact ? "" : " (using the choice made for " + ms(under.budgetMs) + ", the largest exported under it)");
            return under;
        }
        why.append("profile ").append(profile).append(": no choice exported for a budget <= ").append(ms(budgetMs))
                .append("; using the one for ").append(ms(smallest.budgetMs)).append(", which may be over budget");
        return smallest;
    }

    private static Selection withArtifact(BundleManifest m, BundleManifest.Choice pick, Set<String> runnable, StringBuilder why) {
        if (runnable.contains(pick.backend)) {
            BundleManifest.Artifact a = m.artifact(pick);
            if (a != null) {
                return new Selection(pick, a, pick.backend, why.toString());
            }
        }
        for (BundleManifest.Artifact a : m.artifacts) {
            if (runnable.contains(a.backend) && a.subnet.sameAs(pick.subnet.width, pick.subnet.depth, pick.subnet.precision)) {
                why.append("; chosen backend ").append(pick.backend).append(" is not available in this build, running ")
                        .append(a.backend).append(" instead");
                return new Selection(pick, a, a.backend, why.toString());
            }
        }
        throw new IllegalArgumentException("the bundle has no artifact for sub-network (" + pick.subnet + ") on a backend "
                + "this build runs " + runnable + "; the manifest lists " + m.artifacts.size() + " artifacts");
    }

    static String ms(double v) {
        return String.format(Locale.ROOT, "%.2f ms", v);
    }
}
