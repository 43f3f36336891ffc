package io.flinkmamba.sql;

import org.apache.flink.types.Row;

/**
 * Scores the events of one key at a time against that key's state, which the function keeps in
 * Flink keyed state as the bytes the model's own state codec writes. Holds scratch buffers: one
 * instance per function instance (one thread).
 */
interface KeyScorer {
    /**
     * Scores one event whose features are all finite, advancing the key's state.
     *
     * @param state the key's state as {@link #updatedState()} returned it last time; null for a new key
     * @return the output row (the model's output columns, {@code rejected_reason} null)
     */
    Row score(byte[] state, float[] features);

    /** The key's state after the last {@link #score} call, to store back. */
    byte[] updatedState();

    /** The output row of an event that was not scored: only the model columns and the reason are set. */
    Row rejected(String reason);
}
