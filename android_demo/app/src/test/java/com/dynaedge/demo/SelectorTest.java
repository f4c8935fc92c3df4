package com.dynaedge.demo;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;
import org.junit.Test;

/** Selector, BundleManifest and DeviceMatcher on tests/android_demo/sample_manifest.json. */
public class SelectorTest {
    private static final Set<String> OFFLINE = Collections.singleton("executorch");

    private static BundleManifest manifest() throws IOException {
        String path = System.getProperty("dynaedge.manifest");
        if (path == null) {
            throw new IllegalStateException("system property dynaedge.manifest is not set; run through pytest");
        }
        return BundleManifest.parse(new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8));
    }

    @Test
    public void readsTheManifest() throws IOException {
        BundleManifest m = manifest();
        assertEquals(16, m.seqLen);
        assertEquals("positive", m.label(1));
        assertEquals("label 7", m.label(7));
        assertEquals(5, m.choices.size());
        assertEquals(3, m.artifacts.size());
    }

    @Test
    public void lengthAdaptiveFilesRunEachSentenceAtItsOwnLength() throws IOException {
        BundleManifest m = manifest();
        BundleManifest.Artifact adaptive = m.artifacts.get(0);  // "input_lengths": "2..16"
        BundleManifest.Artifact fixed = m.artifacts.get(1);     // no input_lengths: an older, fixed-length file
        assertEquals(16, adaptive.maxLen);
        assertEquals(0, fixed.maxLen);
        Encoding seven = new Encoding(new int[16], new int[16], 7, false);
        assertEquals(7, seven.fedLength(m.seqLen, adaptive.maxLen));
        assertEquals(16, seven.fedLength(m.seqLen, fixed.maxLen));
        assertEquals(Encoding.MIN_LENGTH, new Encoding(new int[16], new int[16], 0, false).fedLength(16, 16));
        try {
            seven.fedLength(32, adaptive.maxLen);
            fail("an encoding of another seq_len must be refused");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("the model takes 32"));
        }
    }

    @Test
    public void exactBudgetPicksThatChoice() throws IOException {
        Selector.Selection s = Selector.select(manifest(), "pixel-7", 2.0, OFFLINE);
        assertEquals(0.5, s.choice.subnet.width, 0);
        assertEquals("encoder_w0.5_d0.5_int8.pte", s.artifact.path);
        assertTrue(s.reason, s.reason.contains("budget 2.00 ms"));
        assertTrue(s.reason, s.reason.contains("export said"));
    }

    @Test
    public void budgetBetweenExportedOnesUsesTheLargestUnderIt() throws IOException {
        Selector.Selection s = Selector.select(manifest(), "pixel-7", 4.0, OFFLINE);
        assertEquals(2.0, s.choice.budgetMs, 0);
        assertTrue(s.reason, s.reason.contains("largest exported under it"));
        assertEquals(5.0, Selector.select(manifest(), "pixel-7", 10.0, OFFLINE).choice.budgetMs, 0);
    }

    @Test
    public void budgetBelowEveryChoiceSaysItMayBeOver() throws IOException {
        Selector.Selection s = Selector.select(manifest(), "pixel-7", 1.0, OFFLINE);
        assertEquals(2.0, s.choice.budgetMs, 0);
        assertTrue(s.reason, s.reason.contains("may be over budget"));
    }

    @Test
    public void noBudgetMeansTheStrictestExported() throws IOException {
        assertEquals(2.0, Selector.select(manifest(), "pixel-7", null, OFFLINE).choice.budgetMs, 0);
        assertEquals(5.0, Selector.select(manifest(), "galaxy-a14", null, OFFLINE).choice.budgetMs, 0);
    }

    @Test
    public void tfliteChoiceRunsTheSameSubnetOnExecutorchOffline() throws IOException {
        Selector.Selection offline = Selector.select(manifest(), "galaxy-s24", null, OFFLINE);
        assertEquals("executorch", offline.backend);
        assertEquals("tflite", offline.choice.backend);
        assertTrue(offline.reason, offline.reason.contains("not available in this build"));
        Set<String> gradle = new HashSet<>(Arrays.asList("executorch", "tflite"));
        assertEquals("encoder_w0.5_d0.5_int8.tflite", Selector.select(manifest(), "galaxy-s24", null, gradle).artifact.path);
    }

    @Test
    public void unknownDeviceGetsTheFastestChoice() throws IOException {
        Selector.Selection s = Selector.select(manifest(), null, null, OFFLINE);
        assertEquals(1.6, s.choice.predictedMs, 1e-9);
        assertTrue(s.reason, s.reason.startsWith("no device profile matches this phone"));
    }

    @Test
    public void noRunnableArtifactIsAnError() throws IOException {
        try {
            Selector.select(manifest(), "pixel-7", null, Collections.singleton("coreml"));
            fail("expected an error");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("no artifact for sub-network"));
        }
    }

    @Test
    public void deviceMatcherPrefersExactThenLongestPrefix() throws IOException {
        Set<String> profiles = new LinkedHashSet<>();
        for (BundleManifest.Choice c : manifest().choices) {
            profiles.add(c.device);
        }
        assertEquals("pixel-7", DeviceMatcher.match(profiles, "model", "Pixel 7").profile);
        assertEquals("pixel-7-pro", DeviceMatcher.match(profiles, "model", "Pixel 7 Pro").profile);
        assertEquals("pixel-7", DeviceMatcher.match(profiles, "model", "Pixel 7 (GVU6C)").profile);
        assertEquals("galaxy-a14", DeviceMatcher.match(profiles, "model", "SM-A145F", "SoC", "", "hardware", "Galaxy A14 5G").profile);
        assertNull(DeviceMatcher.match(profiles, "model", "Pixel 70", "SoC", "Tensor G2"));
    }

    @Test
    public void badManifestsNameTheProblem() {
        try {
            BundleManifest.parse("{\"schema\": 2}");
            fail("expected an error");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("schema 2 not supported"));
        }
        try {
            BundleManifest.parse("{\"schema\": 1, \"seq_len\": 16, \"choices\": [{\"device\": \"x\"}]}");
            fail("expected an error");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("missing field 'subnet'"));
        }
    }
}
