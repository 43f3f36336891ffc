package io.flinkmamba.examples.generator;

/** The kinds of anomaly the generator injects, each a different way a real signal goes wrong. */
public enum AnomalyKind {
    /** A single extreme value. */
    SPIKE,
    /** The level jumps and stays there for the episode. */
    LEVEL_SHIFT,
    /** A slow linear departure from normal. */
    DRIFT,
    /** The sensor repeats its last value (a frozen reading). */
    STUCK,
    /** Noise several times larger than usual. */
    VARIANCE_BURST,
    /** The seasonal period changes. */
    FREQUENCY_CHANGE
}
