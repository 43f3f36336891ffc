package io.flinkmamba.operator;

/** How the operator advances keys' states; both give the same outputs and states. */
public enum ScoringMode {
    /** Each event is scored on arrival with the recurrent step. */
    PER_EVENT,
    /** Events are buffered per key and all pending keys are scored with one batched parallel call. */
    MICRO_BATCH
}
