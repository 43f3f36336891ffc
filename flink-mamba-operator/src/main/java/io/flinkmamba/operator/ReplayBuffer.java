package io.flinkmamba.operator;

import java.util.ArrayList;
import java.util.List;

/**
 * A key's last {@code capacity} model inputs with their event times, oldest first: what the
 * {@code replay} upgrade policy runs a new model over to rebuild the key's state. The inputs are what
 * the operator scores (the extractor's features for {@code scoreAnomalies}; the input adapter's
 * output, today the features themselves, for {@code score}), so they do not depend on the model.
 */
public final class ReplayBuffer {
    private final long[] times;
    private final float[][] inputs;
    /** Index of the oldest event. */
    private int start;
    private int size;

    public ReplayBuffer(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("replay buffer capacity must be >= 1, got " + capacity);
        }
        this.times = new long[capacity];
        this.inputs = new float[capacity][];
    }

    public int capacity() {
        return times.length;
    }

    public int size() {
        return size;
    }

    /** Appends an event, dropping the oldest when full. Keeps {@code input} itself: callers pass a copy. */
    public void add(long eventTime, float[] input) {
        int slot;
        if (size < times.length) {
            slot = (start + size) % times.length;
            size++;
        } else {
            slot = start;
            start = (start + 1) % times.length;
        }
        times[slot] = eventTime;
        inputs[slot] = input;
    }

    /** The buffered events, oldest first (shares the input arrays). */
    public List<PendingEvent> events() {
        List<PendingEvent> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            int slot = (start + i) % times.length;
            out.add(new PendingEvent(times[slot], inputs[slot]));
        }
        return out;
    }

    /** This buffer's newest events in a buffer of another capacity (the window option changed). */
    public ReplayBuffer withCapacity(int capacity) {
        ReplayBuffer b = new ReplayBuffer(capacity);
        List<PendingEvent> evs = events();
        for (PendingEvent e : evs.subList(Math.max(0, evs.size() - capacity), evs.size())) {
            b.add(e.eventTime, e.input);
        }
        return b;
    }

    public ReplayBuffer deepCopy() {
        ReplayBuffer b = new ReplayBuffer(capacity());
        for (PendingEvent e : events()) {
            b.add(e.eventTime, e.input.clone());
        }
        return b;
    }
}
