package io.flinkmamba.examples.demo;

import io.flinkmamba.examples.generator.AnomalyKind;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Precision, recall and F1 of the flagged events against the generator's labels, by the
 * <b>event-window rule</b>: per key, an anomaly <i>episode</i> is a maximal run of consecutive
 * labelled events of one kind; its window is the episode extended by {@code window} events after its
 * last event (a detector can only react once it has seen the anomaly, and a level shift or a stuck
 * sensor may be noticed when it ends). A flagged event inside some episode's window is a true
 * positive, any other flagged event a false positive: precision = true positives / flagged. An
 * episode is detected when at least one event in its window is flagged: recall = detected episodes /
 * episodes. Only scored events count; episodes that start at or before a key's warm-up are excluded
 * (the scorer does not flag during warm-up), as are flagged warm-up events (there are none).
 */
public final class Evaluation {
    /** One scored event of a key, in the key's order. */
    public record Point(long time, boolean flagged, boolean warmingUp, AnomalyKind label) {}

    public record Counts(int episodes, int detected, long flagged, long truePositives) {
        public double precision() { return flagged == 0 ? 0 : (double) truePositives / flagged; }
        public double recall() { return episodes == 0 ? 0 : (double) detected / episodes; }
        public double f1() {
            double p = precision(), r = recall();
            return p + r == 0 ? 0 : 2 * p * r / (p + r);
        }
    }

    private final int window;
    private int episodes;
    private int detected;
    private long flagged;
    private long truePositives;
    private long events;
    private final Map<AnomalyKind, int[]> byKind = new EnumMap<>(AnomalyKind.class);

    public Evaluation(int window) {
        this.window = window;
    }

    /** Adds one key's scored events, in order. */
    public void addKey(List<Point> points) {
        int n = points.size();
        boolean[] inWindow = new boolean[n];
        int i = 0;
        while (i < n) {
            AnomalyKind kind = points.get(i).label();
            if (kind == null) {
                i++;
                continue;
            }
            int start = i;
            while (i < n && points.get(i).label() == kind) {
                i++;
            }
            int end = Math.min(n, i + window); // exclusive
            boolean hit = false;
            for (int j = start; j < end; j++) {
                inWindow[j] = true;
                hit |= points.get(j).flagged();
            }
            if (!points.get(start).warmingUp()) {
                episodes++;
                int[] k = byKind.computeIfAbsent(kind, x -> new int[2]);
                k[0]++;
                if (hit) {
                    detected++;
                    k[1]++;
                }
            }
        }
        for (int j = 0; j < n; j++) {
            events++;
            if (points.get(j).flagged()) {
                flagged++;
                if (inWindow[j]) {
                    truePositives++;
                }
            }
        }
    }

    public Counts counts() {
        return new Counts(episodes, detected, flagged, truePositives);
    }

    public long events() {
        return events;
    }

    public int window() {
        return window;
    }

    /** Per anomaly kind: {episodes, detected}. */
    public Map<AnomalyKind, int[]> byKind() {
        return byKind;
    }

    static List<Point> sorted(List<Point> points) {
        List<Point> copy = new ArrayList<>(points);
        copy.sort((a, b) -> Long.compare(a.time(), b.time()));
        return copy;
    }
}
