package com.dynaedge.demo;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.Test;

/**
 * The app picks what the Python selector picked: for every (profile, budget) line of
 * dynaedge.expected (written by tests/android_demo/test_selector_parity.py from
 * exporter.devices.commands.query), Selector.select on dynaedge.manifest gives the same
 * sub-network, backend and file.
 */
public class SelectorParityTest {
    private static final Set<String> ALL = new HashSet<>(Arrays.asList("executorch", "tflite"));

    @Test
    public void sameChoiceAsPython() throws IOException {
        BundleManifest m = BundleManifest.parse(read("dynaedge.manifest"));
        List<String> lines = Files.readAllLines(Paths.get(System.getProperty("dynaedge.expected")), StandardCharsets.UTF_8);
        int checked = 0;
        for (String line : lines) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t");  // profile, budget_ms, width, depth, precision, backend, path
            Selector.Selection s = Selector.select(m, f[0], Double.parseDouble(f[1]), ALL);
            String where = f[0] + " @ " + f[1] + " ms";
            assertTrue(where + ": width", s.choice.subnet.sameAs(Double.parseDouble(f[2]), Double.parseDouble(f[3]), f[4]));
            assertEquals(where + ": backend", f[5], s.backend);
            assertEquals(where + ": file", f[6], s.artifact.path);
            checked++;
        }
        assertTrue("no expectations to check", checked > 0);
        System.out.println("selector parity: " + checked + " (profile, budget) pairs agree");
    }

    private static String read(String property) throws IOException {
        return new String(Files.readAllBytes(Paths.get(System.getProperty(property))), StandardCharsets.UTF_8);
    }
}
