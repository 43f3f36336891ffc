package io.flinkmamba.operator;

import org.apache.flink.api.common.state.ListState;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The micro-batch mode's events not yet scored, per key in arrival order (like the table runtime's
 * {@code MapBundleOperator}): held in operator memory between checkpoints, so an event costs one
 * list append instead of a keyed {@code ListState} add, and a flush reads no list back. The keyed list
 * state {@value KeyedMambaOperator#BATCH_BUFFER} holds them only in a snapshot: {@link #writeToState}
 * appends the in-memory events to it before the keyed state is snapshotted, and after a restore
 * {@link #recover} marks the keys found there. A failure loses the in-memory events since the last
 * checkpoint, which the source replays. The state's name and format ({@link PendingEventSerializer})
 * are unchanged, so savepoints and the savepoint tools read it as before.
 *
 * <p>Not thread-safe: the operator's task thread only. Methods that touch the list state switch the
 * key context through {@code setKey} and leave it on the last key they touched.
 */
final class PendingBuffer<K> {
    /** One key's pending events: first those in the list state (if any), then those in memory. */
    private static final class Run {
        final ArrayList<PendingEvent> memory = new ArrayList<>(4);
        boolean inState;
        int inStateCount;
    }

    private final ListState<PendingEvent> state;
    private final Consumer<K> setKey;
    private final LinkedHashMap<K, Run> runs = new LinkedHashMap<>();
    private long events;

    PendingBuffer(ListState<PendingEvent> state, Consumer<K> setKey) {
        this.state = state;
        this.setKey = setKey;
    }

    /** Appends an event of {@code key}; returns whether the key had no pending event before. */
    boolean add(K key, PendingEvent event) {
        Run run = runs.get(key);
        boolean first = run == null;
        if (first) {
            run = new Run();
            runs.put(key, run);
        }
        run.memory.add(event);
        events++;
        return first;
    }

    long events() {
        return events;
    }

    int keys() {
        return runs.size();
    }

    boolean isEmpty() {
        return runs.isEmpty();
    }

    /** The pending keys, in the order of their first pending event. Do not modify. */
    Set<K> pendingKeys() {
        return Collections.unmodifiableSet(runs.keySet());
    }

    /**
     * The key's pending events in arrival order, removed from the state (the current key must be
     * {@code key}); the key stays listed until {@link #clear}.
     */
    List<PendingEvent> take(K key) throws Exception {
        Run run = runs.get(key);
        if (run == null) {
            return List.of();
        }
        List<PendingEvent> out;
        if (run.inState) {
            out = new ArrayList<>(run.inStateCount + run.memory.size());
            Iterable<PendingEvent> stored = state.get();
            if (stored != null) {
                stored.forEach(out::add);
            }
            state.clear();
            run.inState = false;
            run.inStateCount = 0;
            out.addAll(run.memory);
        } else {
            out = new ArrayList<>(run.memory);
        }
        run.memory.clear();
        return out;
    }

    /** Forgets every pending event (after a flush took them all). */
    void clear() {
        runs.clear();
        events = 0;
    }

    /**
     * Appends the in-memory events to each key's list state, so that a snapshot taken now holds every
     * pending event; they stay pending (and are read back from the state by {@link #take}).
     */
    void writeToState() throws Exception {
        for (Map.Entry<K, Run> e : runs.entrySet()) {
            Run run = e.getValue();
            if (run.memory.isEmpty()) {
                continue;
            }
            setKey.accept(e.getKey());
            state.addAll(run.memory);
            run.inState = true;
            run.inStateCount += run.memory.size();
            run.memory.clear();
        }
    }

    /** After a restore: {@code key} has {@code count} events in the list state. */
    void recover(K key, int count) {
        Run run = runs.computeIfAbsent(key, k -> new Run());
        run.inState = true;
        run.inStateCount += count;
        events += count;
    }
}
