package com.dynaedge.demo;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class JsonTest {
    @Test
    public void parsesEveryKindOfValue() {
        Map<String, Object> m = Json.parseObject(
                " {\"a\": [1, -2.5e3, true, false, null], \"s\": \"q\\\"\\\\\\/\\n\\u00e9\\ud83d\\ude00\", \"o\": {}} ");
        List<?> a = (List<?>) m.get("a");
        assertEquals(Arrays.asList(1.0, -2500.0, true, false, null), a);
        assertEquals("q\"\\/\né\uD83D\uDE00", m.get("s"));
        assertTrue(((Map<?, ?>) m.get("o")).isEmpty());
    }

    @Test
    public void writesWhatItReads() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("text", "tab\tquote\" é");
        m.put("n", 3);
        m.put("x", 0.125);
        m.put("whole", 2.0);
        m.put("none", null);
        m.put("list", Arrays.asList(1L, "two"));
        String s = Json.write(m);
        assertEquals("{\"text\":\"tab\\tquote\\\" é\",\"n\":3,\"x\":0.125,\"whole\":2.0,\"none\":null,\"list\":[1,\"two\"]}", s);
        Map<String, Object> back = Json.parseObject(s);
        assertEquals("tab\tquote\" é", back.get("text"));
        assertNull(back.get("none"));
    }

    @Test
    public void errorsSayWhere() {
        for (String bad : new String[] {"{", "[1,]", "{\"a\" 1}", "tru", "\"open", "{} x", "-"}) {
            try {
                Json.parse(bad);
                fail("accepted " + bad);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("at offset"));
            }
        }
    }
}
