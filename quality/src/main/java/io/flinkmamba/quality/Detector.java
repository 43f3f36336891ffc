package io.flinkmamba.quality;

/** A streaming anomaly detector: one {@link Stream} per series, fed in order. */
public interface Detector {
    /** Name and configuration, for the report. */
    String name();

    Stream newStream(int features);

    /** One series' detector state. */
    interface Stream {
        /** Scores x (larger = more anomalous) using only what came before, then learns from x. */
        double score(float[] x);
    }
}
