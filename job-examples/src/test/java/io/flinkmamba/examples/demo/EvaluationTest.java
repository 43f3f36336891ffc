package io.flinkmamba.examples.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flinkmamba.examples.generator.AnomalyKind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

class EvaluationTest {
    /** Builds a key's points from a pattern: '.' normal, 'S'/'L' labelled (SPIKE/LEVEL_SHIFT); flagged indices given. */
    private static List<Evaluation.Point> points(String labels, int warmup, int... flagged) {
        List<Evaluation.Point> list = new ArrayList<>();
        for (int i = 0; i < labels.length(); i++) {
            char c = labels.charAt(i);
            AnomalyKind kind = c == 'S' ? AnomalyKind.SPIKE : c == 'L' ? AnomalyKind.LEVEL_SHIFT : null;
            boolean f = false;
            for (int j : flagged) {
                f |= j == i;
            }
            list.add(new Evaluation.Point(i, f, i < warmup, kind));
        }
        return list;
    }

    @Test
    void eventWindowRule() {
        Evaluation e = new Evaluation(2);
        //            0123456789012345678
        e.addKey(points("...LLL.....S.......", 0, 7, 10, 12, 18));
        // episode LLL (3-5) window 3..7: flag 7 inside -> detected, TP; spike at 11, window 11..13: flag 12 -> TP
        // flags 10 and 18 are outside every window -> FP
        Evaluation.Counts c = e.counts();
        assertEquals(2, c.episodes());
        assertEquals(2, c.detected());
        assertEquals(4, c.flagged());
        assertEquals(2, c.truePositives());
        assertEquals(0.5, c.precision(), 1e-12);
        assertEquals(1.0, c.recall(), 1e-12);
        assertEquals(2 * 0.5 / 1.5, c.f1(), 1e-12);
    }

    @Test
    void missedEpisodesAdjacentKindsAndWarmUp() {
        Evaluation e = new Evaluation(1);
        //            0123456789
        e.addKey(points("L..LLSS...", 2, 9));
        // episode at 0 starts in warm-up: left out; LL (3-4) and SS (5-6) are two episodes (kinds differ)
        // flag 9 is outside both windows (LL: 3..5, SS: 5..7)
        Evaluation.Counts c = e.counts();
        assertEquals(2, c.episodes());
        assertEquals(0, c.detected());
        assertEquals(1, c.flagged());
        assertEquals(0, c.truePositives());
        assertEquals(0.0, c.precision());
        assertEquals(1, e.byKind().get(AnomalyKind.SPIKE)[0]);
        assertEquals(10, e.events());
    }
}
