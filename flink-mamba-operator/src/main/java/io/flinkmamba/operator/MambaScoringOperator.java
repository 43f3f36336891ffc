package io.flinkmamba.operator;

import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.typeutils.TupleTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Scores a keyed stream with a Mamba model, each key's recurrent state in Flink keyed state.
 *
 * <p>PER_EVENT mode advances the key's state with the recurrent step as each event arrives.
 * MICRO_BATCH mode appends events to the key's pending list (keyed state, so checkpoints keep them)
 * and flushes all pending keys of the subtask with ONE batched parallel call when max-events are
 * pending, when max-delay has passed (processing-time timer), before every checkpoint barrier and at
 * end of input. Watermarks are held back while events are pending, so no score is emitted behind a
 * watermark that has already passed. EVENT_TIME ordering buffers events until the watermark passes
 * them and applies them sorted by event time; events later than the allowed lateness are rejected.
 */
public class MambaScoringOperator<K, IN> extends AbstractStreamOperator<MambaScore<K>>
        implements OneInputStreamOperator<IN, MambaScore<K>>, Triggerable<K, VoidNamespace>, BoundedOneInput {
    private static final long serialVersionUID = 1L;

    static final String KEY_STATE = "mamba-key-state";
    static final String PENDING_STATE = "mamba-pending";
    static final String EVENT_TIME_BUFFER = "mamba-event-time-buffer";

    private final MambaSpec spec;
    private final FeatureExtractor<IN> extractor;
    private final TypeInformation<IN> inType;
    private final OutputTag<RejectedEvent<IN>> rejectedTag;

    private transient MambaModel model;
    private transient int featureCount;
    private transient RecurrentStepper stepper;
    private transient BatchForward batchForward;
    private transient MambaBatch batch;
    private transient ValueState<MambaKeyState> keyState;
    private transient ListState<Tuple2<Long, IN>> pending;
    private transient ListState<Tuple2<Long, IN>> eventTimeBuffer;
    private transient InternalTimerService<VoidNamespace> timers;
    private transient Set<K> pendingKeys;
    private transient int pendingEvents;
    private transient boolean flushTimerSet;
    private transient Watermark heldWatermark;
    private transient float[] stepOutput;

    private transient Counter eventsScored;
    private transient Counter eventsRejected;
    private transient Counter flushes;
    private transient Histogram batchEvents;
    private transient Histogram batchKeys;
    private transient Histogram flushLatencyMs;

    public MambaScoringOperator(MambaSpec spec, FeatureExtractor<IN> extractor, TypeInformation<IN> inType,
                                OutputTag<RejectedEvent<IN>> rejectedTag) {
        this.spec = spec;
        this.extractor = extractor;
        this.inType = inType;
        this.rejectedTag = rejectedTag;
    }

    @Override
    public void open() throws Exception {
        super.open();
        model = loadModel(spec.modelPath());
        featureCount = model.config().hiddenSize();
        keyState = getPartitionedState(new ValueStateDescriptor<>(KEY_STATE, MambaKeyStateSerializer.INSTANCE));
        TupleTypeInfo<Tuple2<Long, IN>> bufferedType = new TupleTypeInfo<>(Types.LONG, inType);
        pending = getPartitionedState(new ListStateDescriptor<>(PENDING_STATE, bufferedType));
        eventTimeBuffer = getPartitionedState(new ListStateDescriptor<>(EVENT_TIME_BUFFER, bufferedType));
        timers = getInternalTimerService("mamba-timers", VoidNamespaceSerializer.INSTANCE, this);
        stepOutput = new float[featureCount];
        pendingKeys = new LinkedHashSet<>();
        if (spec.mode() == ScoringMode.PER_EVENT) {
            stepper = model.newStepper();
        } else {
            batchForward = BatchForwardSelector.create(model, spec.device(), getMetricGroup());
            batch = new MambaBatch(model.config());
            recoverPendingKeys();
        }
        eventsScored = getMetricGroup().counter("eventsScored");
        eventsRejected = getMetricGroup().counter("eventsRejected");
        flushes = getMetricGroup().counter("flushes");
        batchEvents = getMetricGroup().histogram("batchEvents", new DescriptiveStatisticsHistogram(1024));
        batchKeys = getMetricGroup().histogram("batchKeys", new DescriptiveStatisticsHistogram(1024));
        flushLatencyMs = getMetricGroup().histogram("flushLatencyMs", new DescriptiveStatisticsHistogram(1024));
        long stateBytes = freshState().serializedBytes();
        getMetricGroup().gauge("stateBytesPerKey", () -> stateBytes);
    }

    static MambaModel loadModel(String path) {
        try {
            return MambaModel.load(Path.of(path));
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot load the Mamba model from '" + path + "': " + e.getMessage(), e);
        }
    }

    /** After a restore, the keys with pending events are found again from the pending list state. */
    private void recoverPendingKeys() throws Exception {
        List<K> keys = getKeyedStateBackend().<VoidNamespace>getKeys(PENDING_STATE, VoidNamespace.INSTANCE)
                .map(k -> (K) k).collect(Collectors.toList());
        for (K k : keys) {
            setCurrentKey(k);
            int n = 0;
            for (Tuple2<Long, IN> ignored : pending.get()) {
                n++;
            }
            if (n > 0) {
                pendingKeys.add(k);
                pendingEvents += n;
            }
        }
        if (!pendingKeys.isEmpty()) {
            setCurrentKey(pendingKeys.iterator().next());
            armFlushTimer();
        }
    }

    @Override
    public void processElement(StreamRecord<IN> record) throws Exception {
        IN event = record.getValue();
        long ts = extractor.eventTime(event);
        if (ts == FeatureExtractor.NO_TIMESTAMP && record.hasTimestamp()) {
            ts = record.getTimestamp();
        }
        float[] features;
        try {
            features = extractor.features(event);
        } catch (RuntimeException e) {
            reject(event, ts, "feature extraction failed: " + e);
            return;
        }
        String problem = FeatureCheck.problem(features, featureCount);
        if (problem != null) {
            reject(event, ts, problem);
            return;
        }
        if (spec.ordering() == EventOrdering.EVENT_TIME) {
            bufferForEventTime(event, ts);
        } else {
            apply(event, ts, features);
        }
    }

    private void bufferForEventTime(IN event, long ts) throws Exception {
        if (ts == FeatureExtractor.NO_TIMESTAMP) {
            reject(event, ts, "no event time: EVENT_TIME ordering needs a timestamp on every event");
            return;
        }
        long watermark = timers.currentWatermark();
        long lateness = spec.allowedLateness().toMillis();
        if (watermark != Long.MIN_VALUE && ts < watermark - lateness) {
            reject(event, ts, "late: event time " + ts + " is behind the watermark " + watermark
                    + " by more than the allowed lateness of " + lateness + " ms");
            return;
        }
        eventTimeBuffer.add(Tuple2.of(ts, event));
        timers.registerEventTimeTimer(VoidNamespace.INSTANCE, Math.max(ts, watermark + 1));
    }

    /** Advances the current key by one event (PER_EVENT) or queues it for the next flush (MICRO_BATCH). */
    private void apply(IN event, long ts, float[] features) throws Exception {
        if (spec.mode() == ScoringMode.PER_EVENT) {
            MambaKeyState st = loadState();
            stepper.step(st.state, 0, features, 0, stepOutput, 0);
            st.eventsSeen++;
            keyState.update(st);
            emit(ts, stepOutput.clone(), st.eventsSeen);
            return;
        }
        pending.add(Tuple2.of(ts, event));
        if (pendingKeys.add((K) getCurrentKey()) && !flushTimerSet) {
            armFlushTimer();
        }
        pendingEvents++;
        if (pendingEvents >= spec.batchMaxEvents()) {
            flush();
        }
    }

    private void armFlushTimer() {
        timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE,
                getProcessingTimeService().getCurrentProcessingTime() + spec.batchMaxDelay().toMillis());
        flushTimerSet = true;
    }

    /** The current key's state, fresh for a new key; a state from another model is handled by the policy. */
    private MambaKeyState loadState() throws Exception {
        MambaKeyState st = keyState.value();
        if (st == null) {
            return freshState();
        }
        if (st.modelFingerprint.equals(model.fingerprint())) {
            return st;
        }
        switch (spec.modelChangePolicy()) {
            case RESET:
                return freshState();
            case CARRY:
                if (st.state.length != model.config().stateFloats()) {
                    throw new IllegalStateException("cannot carry the state of key " + getCurrentKey() + " from model "
                            + st.modelVersion + " (" + st.modelFingerprint + "): it has " + st.state.length
                            + " floats but model " + spec.modelVersion() + " needs " + model.config().stateFloats()
                            + "; use " + MambaOptions.MODEL_CHANGE_POLICY.key() + "=RESET");
                }
                return new MambaKeyState(st.state, st.eventsSeen, model.fingerprint(), spec.modelVersion());
            default:
                throw new IllegalStateException("key " + getCurrentKey() + " has state from model " + st.modelVersion
                        + " (fingerprint " + st.modelFingerprint + ") but this job runs model " + spec.modelVersion()
                        + " (fingerprint " + model.fingerprint() + ") from " + spec.modelPath() + "; set "
                        + MambaOptions.MODEL_CHANGE_POLICY.key() + " to RESET or CARRY to upgrade");
        }
    }

    private MambaKeyState freshState() {
        return new MambaKeyState(model.newState(), 0, model.fingerprint(), spec.modelVersion());
    }

    /** Scores every pending event of the subtask in one batched call, then writes each key's state back. */
    void flush() throws Exception {
        if (pendingKeys == null || pendingKeys.isEmpty()) {
            releaseHeldWatermark();
            return;
        }
        long start = System.nanoTime();
        List<K> keys = new ArrayList<>(pendingKeys);
        List<MambaKeyState> states = new ArrayList<>(keys.size());
        List<List<Tuple2<Long, IN>>> events = new ArrayList<>(keys.size());
        batch.clear();
        for (K k : keys) {
            setCurrentKey(k);
            MambaKeyState st = loadState();
            List<Tuple2<Long, IN>> evs = new ArrayList<>();
            pending.get().forEach(evs::add);
            int seq = batch.addSequence(st.state, 0, evs.size());
            for (int t = 0; t < evs.size(); t++) {
                batch.setInput(seq, t, extractor.features(evs.get(t).f1), 0);
            }
            states.add(st);
            events.add(evs);
        }
        batchForward.forward(batch);
        for (int i = 0; i < keys.size(); i++) {
            setCurrentKey(keys.get(i));
            MambaKeyState st = states.get(i);
            List<Tuple2<Long, IN>> evs = events.get(i);
            batch.getState(i, st.state, 0);
            long seenBefore = st.eventsSeen;
            st.eventsSeen += evs.size();
            keyState.update(st);
            pending.clear();
            for (int t = 0; t < evs.size(); t++) {
                float[] out = new float[featureCount];
                batch.getOutput(i, t, out, 0);
                emit(evs.get(t).f0, out, seenBefore + t + 1);
            }
        }
        flushes.inc();
        batchEvents.update(pendingEvents);
        batchKeys.update(keys.size());
        flushLatencyMs.update((System.nanoTime() - start) / 1_000_000);
        pendingKeys.clear();
        pendingEvents = 0;
        flushTimerSet = false;
        releaseHeldWatermark();
    }

    private void emit(long ts, float[] output, long eventsSeen) {
        MambaScore<K> score = new MambaScore<>((K) getCurrentKey(), ts, output, spec.modelVersion(), model.fingerprint(), eventsSeen);
        output(ts, score);
        eventsScored.inc();
    }

    private void output(long ts, MambaScore<K> score) {
        this.output.collect(ts == FeatureExtractor.NO_TIMESTAMP ? new StreamRecord<>(score) : new StreamRecord<>(score, ts));
    }

    private void reject(IN event, long ts, String reason) {
        eventsRejected.inc();
        RejectedEvent<IN> r = new RejectedEvent<>(String.valueOf(getCurrentKey()), ts, reason, event);
        output.collect(rejectedTag, ts == FeatureExtractor.NO_TIMESTAMP ? new StreamRecord<>(r) : new StreamRecord<>(r, ts));
    }

    @Override
    public void onEventTime(InternalTimer<K, VoidNamespace> timer) throws Exception {
        List<Tuple2<Long, IN>> ready = new ArrayList<>();
        List<Tuple2<Long, IN>> later = new ArrayList<>();
        for (Tuple2<Long, IN> e : eventTimeBuffer.get()) {
            (e.f0 <= timer.getTimestamp() ? ready : later).add(e);
        }
        if (ready.isEmpty()) {
            return;
        }
        eventTimeBuffer.update(later);
        ready.sort((a, b) -> Long.compare(a.f0, b.f0)); // stable: ties keep arrival order
        for (Tuple2<Long, IN> e : ready) {
            apply(e.f1, e.f0, extractor.features(e.f1));
        }
    }

    @Override
    public void onProcessingTime(InternalTimer<K, VoidNamespace> timer) throws Exception {
        if (spec.mode() == ScoringMode.MICRO_BATCH) {
            flush();
        }
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        if (spec.mode() != ScoringMode.MICRO_BATCH) {
            super.processWatermark(mark);
            return;
        }
        if (timeServiceManager != null) {
            timeServiceManager.advanceWatermark(mark); // may release event-time-buffered events into pending
        }
        heldWatermark = mark;
        if (pendingKeys.isEmpty()) {
            releaseHeldWatermark();
        }
    }

    private void releaseHeldWatermark() {
        if (heldWatermark != null) {
            output.emitWatermark(heldWatermark);
            heldWatermark = null;
        }
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        if (spec.mode() == ScoringMode.MICRO_BATCH) {
            flush();
        }
    }

    @Override
    public void endInput() throws Exception {
        if (spec.mode() == ScoringMode.MICRO_BATCH) {
            flush();
        }
    }

    @Override
    public void close() throws Exception {
        if (batchForward != null) {
            batchForward.close();
        }
        super.close();
    }

    /** The key's current state (for tests and tools), or null before its first event. */
    MambaKeyState currentKeyState() throws Exception {
        return keyState.value();
    }
}
