package io.flinkmamba.operator;

/** How events are scored: one at a time with the recurrent step, or buffered and scored in batches. */
public enum ScoringMode {
    PER_EVENT,
    MICRO_BATCH
}
