package io.flinkmamba.examples.generator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StreamGeneratorTest {
    static List<LabelledEvent> all(StreamGenerator g) {
        List<LabelledEvent> l = new ArrayList<>();
        g.forEachRemaining(l::add);
        return l;
    }

    @ParameterizedTest
    @EnumSource(StreamGenerator.Family.class)
    void deterministicPerSeedAndOrderedPerKey(StreamGenerator.Family f) {
        int ch = f == StreamGenerator.Family.TRADE ? 2 : 3;
        List<LabelledEvent> a = all(new StreamGenerator(f, 7, ch, 500, 42));
        List<LabelledEvent> b = all(new StreamGenerator(f, 7, ch, 500, 42));
        List<LabelledEvent> c = all(new StreamGenerator(f, 7, ch, 500, 43));
        assertEquals(7 * 500, a.size());
        boolean differs = false;
        Map<String, Long> lastTs = new HashMap<>();
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).key, b.get(i).key);
            assertArrayEquals(a.get(i).values, b.get(i).values);
            assertEquals(a.get(i).anomaly, b.get(i).anomaly);
            differs |= !java.util.Arrays.equals(a.get(i).values, c.get(i).values);
            Long prev = lastTs.put(a.get(i).key, a.get(i).timestamp);
            assertTrue(prev == null || prev < a.get(i).timestamp, "event time increases per key");
            for (float v : a.get(i).values) {
                assertTrue(Float.isFinite(v));
            }
        }
        assertTrue(differs, "another seed gives another stream");
    }

    @Test
    void injectsEveryKindAndLeavesMostEventsNormal() {
        List<LabelledEvent> ev = all(new StreamGenerator(StreamGenerator.Family.SENSOR, 40, 1, 2000, 5));
        Set<AnomalyKind> seen = EnumSet.noneOf(AnomalyKind.class);
        long anomalous = 0;
        for (LabelledEvent e : ev) {
            if (e.isAnomaly()) {
                seen.add(e.anomaly);
                anomalous++;
            }
        }
        assertEquals(EnumSet.allOf(AnomalyKind.class), seen);
        double share = anomalous / (double) ev.size();
        assertTrue(share > 0.005 && share < 0.2, "anomalous share " + share);
    }

    @Test
    void labelsMarkRealDepartures() {
        // per labelled event, compare with the same key's normal events: spikes and shifts sit far
        // from the key's normal range, stuck values repeat exactly
        List<LabelledEvent> ev = all(new StreamGenerator(StreamGenerator.Family.SENSOR, 30, 1, 2000, 9));
        Map<String, double[]> range = new HashMap<>();
        for (LabelledEvent e : ev) {
            if (!e.isAnomaly()) {
                double[] r = range.computeIfAbsent(e.key, k -> new double[] {Double.MAX_VALUE, -Double.MAX_VALUE});
                r[0] = Math.min(r[0], e.values[0]);
                r[1] = Math.max(r[1], e.values[0]);
            }
        }
        int spikesOut = 0, spikes = 0, stuckRepeats = 0, stuck = 0;
        Map<String, Float> prev = new HashMap<>();
        for (LabelledEvent e : ev) {
            double[] r = range.get(e.key);
            if (e.anomaly == AnomalyKind.SPIKE) {
                spikes++;
                if (e.values[0] < r[0] || e.values[0] > r[1]) {
                    spikesOut++;
                }
            }
            Float p = prev.put(e.key, e.values[0]);
            if (e.anomaly == AnomalyKind.STUCK && p != null) {
                stuck++;
                if (p == e.values[0]) {
                    stuckRepeats++;
                }
            }
        }
        assertTrue(spikes > 0 && spikesOut >= 0.8 * spikes, spikesOut + " of " + spikes + " spikes outside the normal range");
        assertTrue(stuck > 0 && stuckRepeats >= stuck - stuck / 10, stuckRepeats + " of " + stuck + " stuck events repeat");
    }

    @Test
    void csvHasHeaderValuesKeyAndLabel(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("s.csv");
        long n = GeneratorCsv.write(new StreamGenerator(StreamGenerator.Family.TRADE, 3, 2, 1000, 1), 2, out);
        List<String> lines = Files.readAllLines(out);
        assertEquals(n + 1, lines.size());
        assertEquals("timestamp,v0,v1,key,label", lines.get(0));
        assertEquals(5, lines.get(1).split(",", -1).length);
        assertTrue(lines.stream().skip(1).anyMatch(l -> !l.endsWith(",")), "some labelled rows");
    }
}
