package com.dynaedge.demo;

import java.util.Collection;
import java.util.Locale;

/**
 * Matches this phone to a device profile name from the manifest ("pixel-7", ...).
 *
 * Each descriptor (Build.MODEL, then the SoC model, then Build.HARDWARE) is slugged like
 * the profile names are (lower case, runs of other characters become '-'). An exact slug
 * wins; otherwise the longest profile name that starts the slug at a word boundary
 * ("pixel-7" for "Pixel 7 Pro"). No match returns null and the Selector falls back.
 */
public final class DeviceMatcher {
    /** The match and the descriptor it came from, for the screen. */
    public static final class Match {
        public final String profile;
        public final String matchedOn;

        Match(String profile, String matchedOn) {
            this.profile = profile;
            this.matchedOn = matchedOn;
        }
    }

    private DeviceMatcher() {}

    public static String slug(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-|-$", "");
    }

    /** descriptors: label=value pairs in priority order, e.g. {"model", "Pixel 7", "soc", "GS201"}. */
    public static Match match(Collection<String> profiles, String... descriptors) {
        for (int i = 0; i + 1 < descriptors.length; i += 2) {
            String value = descriptors[i + 1];
            if (value == null || value.isEmpty()) {
                continue;
            }
            String s = slug(value);
            String best = null;
            for (String p : profiles) {
                if (p.equals(s)) {
                    return new Match(p, descriptors[i] + " " + value);
                }
                if (s.startsWith(p + "-") && (best == null || p.length() > best.length())) {
                    best = p;
                }
            }
            if (best != null) {
                return new Match(best, descriptors[i] + " " + value);
            }
        }
        return null;
    }
}
