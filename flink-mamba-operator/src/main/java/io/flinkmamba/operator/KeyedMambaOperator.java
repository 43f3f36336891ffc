package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The keyed machinery shared by the Mamba operators: advances a state per key with every event and
 * emits what the subclass makes of it ({@link MambaScoringOperator}: the backbone's output;
 * {@link AnomalyScoringOperator}: the forecaster's anomaly score).
 *
 * <p>Two stages per event: (1) validation, then, with EVENT_TIME ordering, a keyed buffer released
 * in event-time order once the watermark passes event time + allowed lateness; (2) scoring, either
 * at once with the recurrent step (PER_EVENT) or through a keyed buffer that a flush scores for all
 * pending keys of the subtask with one {@link BatchForward} call (MICRO_BATCH). The event-time
 * buffer is keyed state; the micro-batch buffer ({@link PendingBuffer}) is held in memory and written
 * to keyed state when a snapshot is taken, so a restore loses nothing (events after the last
 * checkpoint are replayed by the source); the set of keys with pending micro-batch events is rebuilt
 * from the state on restore.
 *
 * <p>Outputs never fall behind the watermark: pending events are flushed before a watermark is
 * forwarded, before a checkpoint barrier (configurable) and at end of input.
 *
 * <p>Hot swap: as a two-input operator ({@link MambaOperators#score(org.apache.flink.streaming.api.datastream.KeyedStream,
 * MambaSpec, org.apache.flink.streaming.api.datastream.DataStream)}) the second, broadcast input carries
 * {@link ModelUpdate}s. Each is fetched, checked and loaded on a background thread; the result comes
 * back through the mailbox, where the switch happens between two events (pending micro-batch events
 * are scored with the old model first). From then on keys written by the old model are upgraded on
 * their first touch, by the same code as after a restore with a new model. The accepted update (and
 * those still loading) are kept in broadcast operator state, so a restored job reloads them.
 */
public abstract class KeyedMambaOperator<K, IN, OUT> extends AbstractStreamOperator<OUT>
        implements OneInputStreamOperator<IN, OUT>, TwoInputStreamOperator<IN, ModelUpdate, OUT>,
        Triggerable<K, VoidNamespace>, BoundedOneInput {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(KeyedMambaOperator.class);

    /** Names of the keyed states (public for the offline savepoint tools). */
    public static final String KEY_STATE = "mamba-key-state";
    public static final String BATCH_BUFFER = "mamba-batch-buffer";
    public static final String ORDER_BUFFER = "mamba-event-time-buffer";

    protected final MambaSpec<IN> spec;
    protected final MambaSettings settings;
    /** Whether the second input carries model updates (hot swap). */
    private boolean hotSwap;

    private transient String fingerprint;
    /** The running model's version label, directory and upgrade policy: the spec's until a hot swap. */
    private transient String modelVersion;
    private transient String modelPath;
    private transient UpgradePolicy upgradePolicy;
    private transient LoadedModel current;
    /** Hot swap (two-input mode): the updates' state, loader and bookkeeping; null in one-input mode. */
    private transient ModelUpdates updates;
    private transient FeatureExtractor<IN> extractor;
    /** The micro-batch mode's batched backbone call; null in the per-event mode. */
    protected transient BatchForward batchForward;
    protected transient MambaBatch batch;
    /** The loaded backbone; the replay policy's batched forward (created on the first replay) and its batch. */
    private transient MambaModel backbone;
    private transient BatchForward replayForward;
    private transient MambaBatch replayBatch;

    private transient ValueState<KeyState> keyState;
    private transient ListState<PendingEvent> batchBuffer;
    private transient ListState<PendingEvent> orderBuffer;
    private transient InternalTimerService<VoidNamespace> eventTimers;

    /** Micro-batch events not yet scored, per key: what the next flush scores. */
    private transient PendingBuffer<K> pending;
    /** Processing time at which the pending events must be flushed; -1 when none are pending. */
    private transient long flushDeadline;
    private transient boolean loggedReset;
    protected transient OperatorMetrics metrics;

    protected KeyedMambaOperator(MambaSpec<IN> spec, MambaSettings settings) {
        this.spec = spec;
        this.settings = settings;
    }

    /** A loaded model, not yet in use: what a subclass needs to score with it and to check it before a swap. */
    protected interface LoadedModel {
        /** The backbone the micro-batch mode and the replay policy run. */
        MambaModel backbone();

        String fingerprint();

        /** Features per event this model takes (the job's extractor yields the running model's count). */
        int inputWidth();

        /** A key's state before its first event. */
        KeyState freshState();

        /** Whether a state can be advanced by this model (shapes agree). */
        boolean fits(KeyState s);
    }

    /**
     * Loads a model directory. Runs on a background thread for a hot swap: no effect on the operator
     * until {@link #use}. Throws (any RuntimeException) for a model that cannot be loaded.
     */
    protected abstract LoadedModel load(Path dir);

    /** Makes {@code model} the one the scoring hooks use (task thread, between two events). */
    protected abstract void use(LoadedModel model);

    /** The running model's version label (the spec's until a hot swap). */
    protected final String modelVersion() {
        return modelVersion;
    }

    /** Bytes of one key's state, for the stateBytesPerKey gauge. */
    protected abstract long stateBytesPerKey();

    /** A key's state before its first event, for the running model. */
    protected final KeyState freshState() {
        return current.freshState();
    }

    /** Whether a restored state can be advanced by the running model (shapes agree). */
    protected final boolean fits(KeyState s) {
        return current.fits(s);
    }

    /** Validates the extracted features (non-null, finite) and returns what is buffered and scored. */
    protected abstract float[] modelInput(float[] features) throws InvalidEventException;

    /**
     * Per-event mode: advances {@code s} by one event (its {@code eventsSeen} already counts it) and
     * returns the output.
     */
    protected abstract OUT scoreOne(K key, KeyState s, long eventTime, float[] input);

    /**
     * Micro-batch mode (and the replay policy's rebuild): advances each key's state by its run of
     * events with one call of {@code forward} over {@code batch} (cleared first) and returns the outputs
     * per key, in event order. The states' {@code eventsSeen} do not count the runs yet (the caller
     * adds them afterwards).
     */
    protected abstract List<List<OUT>> scoreRuns(BatchForward forward, MambaBatch batch, List<K> keys,
                                                 List<KeyState> states, List<List<PendingEvent>> runs);

    /** Called for every output before it is emitted (metrics). */
    protected void onEmit(OUT out) {
    }

    /** Two-input mode: the second input carries {@link ModelUpdate}s (set by {@link MambaOperators}). */
    KeyedMambaOperator<K, IN, OUT> acceptModelUpdates() {
        this.hotSwap = true;
        return this;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        if (hotSwap) {
            updates = new ModelUpdates(context.getOperatorStateStore(), context.isRestored());
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        ModelUpdate restored = updates == null ? null : updates.restoredAccepted();
        String restoreFailure = null;
        LoadedModel model = null;
        if (restored != null) {
            try {
                model = ModelUpdates.fetchAndLoad(restored, this::load, settings.modelUpdateMaxBytes);
            } catch (Exception e) {
                restoreFailure = "the hot-swapped model of the restored state could not be reloaded, scoring with the job's "
                        + "model " + spec.modelPath() + " (version " + spec.modelVersion() + ") instead: " + e.getMessage();
                LOG.warn("Mamba operator '{}': {}", spec.uid(), restoreFailure, e);
            }
        }
        if (model != null) {
            install(model, restored.version, restored.modelUri, policyOf(restored));
        } else {
            try {
                model = load(Paths.get(spec.modelPath()));
            } catch (RuntimeException e) {
                throw new IllegalStateException("Mamba operator '" + spec.uid() + "': cannot load the model from '"
                        + spec.modelPath() + "': " + e.getMessage(), e);
            }
            install(model, spec.modelVersion(), spec.modelPath(), settings.upgradePolicy);
        }
        extractor = spec.extractor();
        checkStateBackend();

        ValueStateDescriptor<KeyState> keyStateDescriptor = new ValueStateDescriptor<>(KEY_STATE, new KeyStateSerializer());
        if (settings.stateTtlMs > 0) {
            keyStateDescriptor.enableTimeToLive(stateTtl(settings.stateTtlMs));
        }
        keyState = getPartitionedState(keyStateDescriptor);
        batchBuffer = getPartitionedState(new ListStateDescriptor<>(BATCH_BUFFER, new PendingEventSerializer()));
        orderBuffer = getPartitionedState(new ListStateDescriptor<>(ORDER_BUFFER, new PendingEventSerializer()));
        eventTimers = getInternalTimerService("mamba-event-time", VoidNamespaceSerializer.INSTANCE, this);

        useForwards();
        pending = new PendingBuffer<>(batchBuffer, this::setCurrentKey);
        flushDeadline = -1;
        metrics = new OperatorMetrics(getMetricGroup(), this::stateBytesPerKey, () -> pending.events());
        getMetricGroup().gauge("modelVersion", (Gauge<String>) () -> modelVersion);
        if (updates != null) {
            updates.open(getMetricGroup(), getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        }
        recoverPendingKeys();
        LOG.info("Mamba operator '{}' scoring with model {} (version {}, fingerprint {}), {}, {}", spec.uid(),
                modelPath, modelVersion, fingerprint, settings,
                batchForward == null ? "recurrent step" : "batched on " + batchForward.device());
        if (restoreFailure != null) {
            updates.accepted = null; // the configured model runs: a later snapshot must say so
            updates.save();
            report(updates.outcome(restored, null, restoreFailure, spec.modelVersion(), settings.upgradePolicy));
        }
        if (updates != null) {
            for (ModelUpdate u : updates.restoredLoading()) {
                submit(u); // received before the snapshot, not switched to yet
            }
        }
    }

    /** Makes {@code model} the running one (task thread): the subclass's hooks, fingerprint, label and policy. */
    private void install(LoadedModel model, String version, String path, UpgradePolicy policy) {
        use(model);
        current = model;
        backbone = model.backbone();
        fingerprint = model.fingerprint();
        modelVersion = version;
        modelPath = path;
        upgradePolicy = policy;
    }

    /** The micro-batch mode's batched forward (and the replay policy's) for the running backbone. */
    private void useForwards() throws Exception {
        if (replayForward != null && replayForward != batchForward) {
            replayForward.close();
        }
        replayForward = null;
        replayBatch = null;
        if (batchForward != null) {
            batchForward.close();
            batchForward = null;
        }
        if (settings.mode == ScoringMode.MICRO_BATCH) {
            batchForward = BatchForwardResolver.fromServiceLoader(getUserCodeClassloader()).create(settings.device, backbone, settings.deviceOptions());
            batch = new MambaBatch(backbone.config());
        }
    }

    /**
     * Expiry of idle keys' states: refreshed on every write (every scored event), expired states never
     * read back, dropped in full snapshots, incrementally on heap and by RocksDB's compaction filter.
     */
    private static StateTtlConfig stateTtl(long ttlMs) {
        return StateTtlConfig.newBuilder(java.time.Duration.ofMillis(ttlMs))
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                .cleanupFullSnapshot()
                .cleanupIncrementally(16, false)
                .cleanupInRocksdbCompactFilter(1000)
                .build();
    }

    /**
     * A failure that a restart cannot cure (the job's configuration contradicts its state): the
     * IllegalStateException with the reason, wrapped so that Flink fails the job instead of restarting
     * it over and over under its default restart strategy.
     */
    static RuntimeException unrecoverable(String message) {
        return new org.apache.flink.runtime.execution.SuppressRestartsException(new IllegalStateException(message));
    }

    private void checkStateBackend() {
        String backend = getKeyedStateBackend().getClass().getSimpleName();
        boolean ok = settings.expectedBackend.equals("any")
                || (settings.expectedBackend.equals("heap") && backend.contains("Heap"))
                || (settings.expectedBackend.equals("rocksdb") && backend.contains("RocksDB"));
        if (!ok) {
            throw unrecoverable("Mamba operator '" + spec.uid() + "': " + MambaOptions.EXPECTED_STATE_BACKEND.key()
                    + "=" + settings.expectedBackend + " but the job's keyed state backend is " + backend);
        }
    }

    /** After a restore, finds the keys whose micro-batch buffers hold events. */
    @SuppressWarnings("unchecked")
    private void recoverPendingKeys() throws Exception {
        List<K> keys = new ArrayList<>();
        try (Stream<Object> s = getKeyedStateBackend().getKeys(BATCH_BUFFER, VoidNamespace.INSTANCE)) {
            s.forEach(k -> keys.add((K) k));
        }
        for (K k : keys) {
            setCurrentKey(k);
            int n = 0;
            Iterable<PendingEvent> buffered = batchBuffer.get();
            if (buffered != null) {
                for (PendingEvent ignored : buffered) {
                    n++;
                }
            }
            if (n > 0) {
                pending.recover(k, n);
            }
        }
        if (!pending.isEmpty()) {
            LOG.info("Mamba operator '{}': restored {} pending events of {} keys", spec.uid(), pending.events(), pending.keys());
            if (settings.mode == ScoringMode.MICRO_BATCH) {
                scheduleFlush();
            }
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    public void processElement(StreamRecord<IN> record) throws Exception {
        if (batchForward == null && !pending.isEmpty()) {
            flush(); // events restored from a micro-batch run, now scored one by one
        }
        IN event = record.getValue();
        long recordTime = record.hasTimestamp() ? record.getTimestamp() : FeatureExtractor.NO_TIMESTAMP;
        long eventTime = recordTime;
        float[] input;
        try {
            eventTime = extractor.eventTime(event, recordTime);
            input = validatedInput(event);
        } catch (InvalidEventException e) {
            reject(event, eventTime, e.getMessage());
            return;
        } catch (RuntimeException e) {
            reject(event, eventTime, "feature extraction failed: " + e);
            return;
        }
        K key = (K) getCurrentKey();
        if (settings.ordering == Ordering.EVENT_TIME) {
            holdForWatermark(event, eventTime, input);
        } else {
            accept(key, eventTime, input);
        }
    }

    private float[] validatedInput(IN event) throws InvalidEventException {
        float[] features = extractor.features(event);
        if (features == null) {
            throw new InvalidEventException("missing features (the extractor returned null)");
        }
        for (int i = 0; i < features.length; i++) {
            if (!Float.isFinite(features[i])) {
                throw new InvalidEventException("feature " + i + " is " + features[i] + " (NaN or infinite)");
            }
        }
        return modelInput(features);
    }

    private void holdForWatermark(IN event, long eventTime, float[] input) throws Exception {
        if (eventTime == FeatureExtractor.NO_TIMESTAMP) {
            reject(event, eventTime, "no event time: ordering EVENT_TIME needs a record timestamp or an extractor eventTime");
            return;
        }
        long releaseAt = releaseTime(eventTime);
        long watermark = eventTimers.currentWatermark();
        if (releaseAt <= watermark) {
            metrics.eventsLate.inc();
            reject(event, eventTime, "late: event time " + eventTime + " + allowed lateness " + settings.allowedLatenessMs
                    + " ms is not after the watermark " + watermark);
            return;
        }
        orderBuffer.add(new PendingEvent(eventTime, input.clone()));
        eventTimers.registerEventTimeTimer(VoidNamespace.INSTANCE, releaseAt);
    }

    private long releaseTime(long eventTime) {
        long t = eventTime + settings.allowedLatenessMs;
        return t < eventTime ? Long.MAX_VALUE : t; // saturate instead of overflowing
    }

    /** Releases, in event-time order, the key's held events whose time + lateness the watermark passed. */
    @Override
    public void onEventTime(InternalTimer<K, VoidNamespace> timer) throws Exception {
        Iterable<PendingEvent> held = orderBuffer.get();
        if (held == null) {
            return;
        }
        long watermark = eventTimers.currentWatermark();
        List<PendingEvent> released = new ArrayList<>();
        List<PendingEvent> kept = new ArrayList<>();
        for (PendingEvent e : held) {
            (releaseTime(e.eventTime) <= watermark ? released : kept).add(e);
        }
        if (released.isEmpty()) {
            return;
        }
        released.sort(Comparator.comparingLong(e -> e.eventTime)); // stable: ties keep arrival order
        if (kept.isEmpty()) {
            orderBuffer.clear();
        } else {
            orderBuffer.update(kept);
        }
        for (PendingEvent e : released) {
            accept(timer.getKey(), e.eventTime, e.input);
        }
    }

    @Override
    public void onProcessingTime(InternalTimer<K, VoidNamespace> timer) {
        // no keyed processing-time timers: the flush deadline uses the operator's ProcessingTimeService
    }

    /** Stage 2: the event is valid and due; the current key is {@code key}. */
    private void accept(K key, long eventTime, float[] input) throws Exception {
        if (batchForward == null) {
            scoreNow(key, eventTime, input);
            return;
        }
        // in memory until the flush or a snapshot (see PendingBuffer); the event may be reused by the caller
        if (pending.add(key, new PendingEvent(eventTime, input.clone())) && pending.keys() == 1) {
            scheduleFlush();
        }
        if (pending.events() >= settings.batchMaxEvents || settings.batchMaxDelayMs == 0) {
            flush();
        }
    }

    private void scoreNow(K key, long eventTime, float[] input) throws Exception {
        KeyState s = loadState(key);
        s.eventsSeen++;
        OUT out = scoreOne(key, s, eventTime, input);
        s.remember(eventTime, input, settings.replayWindow);
        keyState.update(s);
        emit(eventTime, out);
    }

    /** The current key's state: fresh when it has none; upgraded by the policy when another model wrote it. */
    private KeyState loadState(K key) throws Exception {
        KeyState s = keyState.value();
        if (s == null) {
            return fresh();
        }
        if (fingerprint.equals(s.modelFingerprint) && fits(s)) {
            s.modelVersion = modelVersion; // a relabelled model, or state of a format without the label
            return s;
        }
        return upgrade(key, s);
    }

    private KeyState fresh() {
        KeyState s = freshState();
        s.modelVersion = modelVersion;
        return s;
    }

    /** Applies {@code mamba.upgrade.policy} to a key whose state another model (or another operator kind) wrote. */
    private KeyState upgrade(K key, KeyState old) throws Exception {
        if (old.replay != null && old.replay.size() > 0 && !replayable(old.replay)) {
            LOG.warn("Mamba operator '{}': key {} has buffered inputs this model cannot take (another feature count); "
                    + "dropping its replay buffer", spec.uid(), key);
            old.replay = null;
        }
        String from = UpgradeRefusals.model(old.modelFingerprint, old.modelVersion, null);
        String to = UpgradeRefusals.model(fingerprint, modelVersion, String.valueOf(modelPath));
        UpgradePolicy.Step step = upgradePolicy.stepFor(old, fits(old));
        switch (step) {
            case REFUSE:
                throw unrecoverable("Mamba operator '" + spec.uid() + "': " + UpgradeRefusals.fail(key, from, to)
                        + "; set " + MambaOptions.UPGRADE_POLICY.key() + " to CARRY, REPLAY or RESET to upgrade such keys");
            case REFUSE_SHAPE:
                throw unrecoverable("Mamba operator '" + spec.uid() + "': " + MambaOptions.UPGRADE_POLICY.key()
                        + "=" + UpgradeRefusals.carry(key, old, from, fresh(), to));
            case CARRY:
                old.modelFingerprint = fingerprint;
                old.modelVersion = modelVersion;
                metrics.stateCarries.inc();
                logUpgradeOnce(key, from, "carried over");
                return old;
            case REPLAY:
                KeyState rebuilt = replay(key, old.replay);
                metrics.stateReplays.inc();
                logUpgradeOnce(key, from, "rebuilt from its last " + old.replay.size() + " events");
                return rebuilt;
            case RESET:
                break;
            default:
                throw new IllegalStateException("unknown upgrade step " + step);
        }
        metrics.stateResets.inc();
        logUpgradeOnce(key, from, "reset");
        KeyState s = fresh();
        if (old.replay != null && settings.replayWindow > 0) {
            s.replay = old.replay.capacity() == settings.replayWindow ? old.replay : old.replay.withCapacity(settings.replayWindow);
        }
        return s;
    }

    /** Whether the loaded model accepts the buffered inputs (the buffer may hold another model's feature count). */
    private boolean replayable(ReplayBuffer buffer) {
        try {
            for (PendingEvent e : buffer.events()) {
                modelInput(e.input);
            }
            return true;
        } catch (InvalidEventException | RuntimeException e) {
            return false;
        }
    }

    /** A fresh state advanced by the new model over the buffered events in one batched forward; outputs dropped. */
    @SuppressWarnings("unchecked")
    private KeyState replay(K key, ReplayBuffer buffer) {
        if (replayForward == null) {
            replayForward = batchForward != null ? batchForward
                    : BatchForwardResolver.fromServiceLoader(getUserCodeClassloader()).create(settings.device, backbone, settings.deviceOptions());
            replayBatch = new MambaBatch(backbone.config());
        }
        KeyState s = fresh();
        List<PendingEvent> events = buffer.events();
        scoreRuns(replayForward, replayBatch, List.of(key), List.of(s), List.of(events));
        s.eventsSeen = events.size();
        s.replay = buffer.capacity() == settings.replayWindow ? buffer : buffer.withCapacity(settings.replayWindow);
        return s;
    }

    /** For error messages: the state's shapes. */
    private void logUpgradeOnce(K key, String from, String what) {
        if (!loggedReset) {
            loggedReset = true;
            LOG.warn("Mamba operator '{}': key {} has state from {}; {} for model {} (version {}) by policy {}; "
                    + "other such keys follow silently (metrics stateResets, stateCarries, stateReplays)",
                    spec.uid(), key, from, what, fingerprint, modelVersion, upgradePolicy);
        }
    }

    private void emit(long eventTime, OUT out) {
        onEmit(out);
        output.collect(eventTime == FeatureExtractor.NO_TIMESTAMP ? new StreamRecord<>(out) : new StreamRecord<>(out, eventTime));
        metrics.eventsScored.inc();
    }

    private void reject(IN event, long eventTime, String reason) {
        metrics.eventsRejected.inc();
        RejectedEvent r = new RejectedEvent(String.valueOf(getCurrentKey()), eventTime, reason, String.valueOf(event));
        output.collect(MambaOperators.REJECTED,
                eventTime == FeatureExtractor.NO_TIMESTAMP ? new StreamRecord<>(r) : new StreamRecord<>(r, eventTime));
    }

    private void scheduleFlush() {
        if (settings.batchMaxDelayMs == 0) {
            return; // every event flushes at once
        }
        long deadline = getProcessingTimeService().getCurrentProcessingTime() + settings.batchMaxDelayMs;
        flushDeadline = deadline;
        getProcessingTimeService().registerTimer(deadline, this::onFlushDeadline);
    }

    private void onFlushDeadline(long time) throws Exception {
        // a timer of an earlier, already flushed batch finds a later or no deadline and does nothing
        if (flushDeadline >= 0 && time >= flushDeadline && !pending.isEmpty()) {
            flush();
        }
    }

    /** Scores every pending event of the subtask, then restores the key context it found. */
    @SuppressWarnings("unchecked")
    void flush() throws Exception {
        if (pending.isEmpty()) {
            return;
        }
        long start = System.nanoTime();
        K saved = (K) getCurrentKey();
        long events = pending.events();
        int keys = pending.keys();
        if (batchForward == null) {
            for (K k : pending.pendingKeys()) {
                setCurrentKey(k);
                for (PendingEvent e : pending.take(k)) {
                    scoreNow(k, e.eventTime, e.input);
                }
            }
        } else {
            flushBatched();
        }
        pending.clear();
        flushDeadline = -1;
        if (saved != null) {
            setCurrentKey(saved);
        }
        metrics.flushes.inc();
        metrics.batchSize.update(events);
        metrics.batchKeys.update(keys);
        metrics.flushLatencyMicros.update((System.nanoTime() - start) / 1000);
    }

    private void flushBatched() throws Exception {
        int n = pending.keys();
        List<K> keys = new ArrayList<>(n);
        List<KeyState> states = new ArrayList<>(n);
        List<List<PendingEvent>> events = new ArrayList<>(n);
        for (K k : pending.pendingKeys()) {
            setCurrentKey(k);
            KeyState s = loadState(k);
            List<PendingEvent> evs = pending.take(k);
            keys.add(k);
            states.add(s);
            events.add(evs);
        }
        List<List<OUT>> outputs = scoreRuns(batchForward, batch, keys, states, events);
        for (int seq = 0; seq < n; seq++) {
            KeyState s = states.get(seq);
            List<PendingEvent> evs = events.get(seq);
            setCurrentKey(keys.get(seq));
            s.eventsSeen += evs.size();
            for (PendingEvent e : evs) {
                s.remember(e.eventTime, e.input, settings.replayWindow);
            }
            keyState.update(s);
            List<OUT> outs = outputs.get(seq);
            for (int t = 0; t < evs.size(); t++) {
                emit(evs.get(t).eventTime, outs.get(t));
            }
        }
    }

    /**
     * Releases held events, flushes, and only then forwards the watermark: outputs are never late.
     * Replaces the base class's version, so Flink's interruptible-timers option (off by default)
     * does not apply to this operator.
     */
    @Override
    public void processWatermark(Watermark mark) throws Exception {
        if (timeServiceManager != null) {
            timeServiceManager.advanceWatermark(mark);
        }
        flush();
        output.emitWatermark(mark);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        if (settings.flushOnCheckpoint || batchForward == null) {
            flush();
        }
    }

    /**
     * Pending micro-batch events still in memory (flush-on-checkpoint off, or a snapshot without a
     * barrier flush) go into the keyed list state now: this runs before the keyed state backend takes
     * its snapshot, so the snapshot holds every pending event.
     */
    @Override
    @SuppressWarnings("unchecked")
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        if (!pending.isEmpty()) {
            K saved = (K) getCurrentKey();
            pending.writeToState();
            if (saved != null) {
                setCurrentKey(saved);
            }
        }
    }

    @Override
    public void endInput() throws Exception {
        flush();
    }

    @Override
    public void finish() throws Exception {
        awaitModelUpdates();
        flush();
        super.finish();
    }

    /** At the end of a bounded job: every received update is accepted or refused (and reported) before the end. */
    private void awaitModelUpdates() throws InterruptedException {
        while (updates != null && !updates.loading.isEmpty()) {
            mailbox().yield();
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (updates != null) {
                updates.close();
            }
            if (batchForward != null) {
                batchForward.close();
            }
            if (replayForward != null && replayForward != batchForward) {
                replayForward.close();
            }
        } finally {
            super.close();
        }
    }

    // ---------------------------------------------------------------- hot swap (two-input mode)

    @Override
    public void processElement1(StreamRecord<IN> record) throws Exception {
        processElement(record);
    }

    /** A model update: checked for form here, fetched and loaded on the loader thread, switched to in {@link #onLoaded}. */
    @Override
    public void processElement2(StreamRecord<ModelUpdate> record) throws Exception {
        ModelUpdate u = record.getValue();
        String invalid = ModelUpdates.invalidReason(u);
        if (invalid != null) {
            report(updates.outcome(u, null, invalid, modelVersion, u == null ? upgradePolicy : policyOf(u)));
            return;
        }
        submit(u);
    }

    /** The events' watermark alone: model updates carry no event time and must not hold it back. */
    @Override
    public void processWatermark1(Watermark mark) throws Exception {
        processWatermark(mark);
    }

    @Override
    public void processWatermark2(Watermark mark) {
        // ignored, see processWatermark1
    }

    private transient MailboxExecutor mailboxExecutor;

    @Override
    public void setMailboxExecutor(MailboxExecutor mailboxExecutor) {
        super.setMailboxExecutor(mailboxExecutor);
        this.mailboxExecutor = mailboxExecutor;
    }

    private MailboxExecutor mailbox() {
        if (mailboxExecutor == null) {
            mailboxExecutor = getContainingTask().getMailboxExecutorFactory().createExecutor(getOperatorConfig().getChainIndex());
        }
        return mailboxExecutor;
    }

    private UpgradePolicy policyOf(ModelUpdate u) {
        return u.policy != null ? u.policy : settings.upgradePolicy;
    }

    /** Loads {@code u} on the loader thread; the result (model or failure) comes back through the mailbox. */
    private void submit(ModelUpdate u) throws Exception {
        updates.loading.add(u);
        updates.save();
        MailboxExecutor mailbox = mailbox();
        updates.loader(spec.uid()).execute(() -> {
            Object result;
            try {
                result = ModelUpdates.fetchAndLoad(u, this::load, settings.modelUpdateMaxBytes);
            } catch (Throwable t) {
                result = t;
            }
            Object loaded = result;
            try {
                mailbox.execute(() -> onLoaded(u, loaded), "mamba model update %s", u.version);
            } catch (RuntimeException e) {
                LOG.debug("Mamba operator '{}': update {} loaded after the task ended", spec.uid(), u.version);
            }
        });
    }

    /** Task thread, between two events: refuses the update (old model kept) or switches to it. */
    private void onLoaded(ModelUpdate u, Object result) throws Exception {
        updates.loading.remove(u);
        UpgradePolicy policy = policyOf(u);
        String refusal;
        String newFingerprint = null;
        if (result instanceof Throwable) {
            Throwable t = (Throwable) result;
            refusal = t.getMessage() != null ? t.getMessage() : t.toString();
        } else {
            newFingerprint = ((LoadedModel) result).fingerprint();
            refusal = swapRefusal((LoadedModel) result, policy);
        }
        if (refusal != null) {
            updates.save();
            LOG.warn("Mamba operator '{}': model update {} ({}) refused, still scoring with version {}: {}", spec.uid(),
                    u.version, u.modelUri, modelVersion, refusal);
            report(updates.outcome(u, newFingerprint, refusal, modelVersion, policy));
            return;
        }
        flush(); // pending micro-batch events belong to the old model
        String previous = modelVersion;
        install((LoadedModel) result, u.version, u.modelUri, policy);
        useForwards();
        metrics.stateBytesPerKeyChanged();
        loggedReset = false;
        updates.accepted = u;
        updates.save();
        LOG.info("Mamba operator '{}': switched from version {} to model {} (version {}, fingerprint {}); keys of the old "
                + "model are upgraded on their next event by policy {}", spec.uid(), previous, u.modelUri, u.version,
                fingerprint, policy);
        report(updates.outcome(u, fingerprint, null, previous, policy));
    }

    /** Why the loaded model cannot replace the running one (null: it can). */
    private String swapRefusal(LoadedModel m, UpgradePolicy policy) {
        if (m.fingerprint().equals(fingerprint)) {
            return null; // the same weights: only the label changes
        }
        if (m.inputWidth() != current.inputWidth()) {
            return "the new model takes " + m.inputWidth() + " features per event, the running one (and the job's "
                    + "extractor) " + current.inputWidth();
        }
        switch (policy) {
            case FAIL:
                return "policy FAIL forbids a model change (running " + fingerprint + ", new " + m.fingerprint() + ")";
            case CARRY:
                if (!m.fits(current.freshState())) {
                    return "CARRY needs the same architecture: the running model's key states have "
                            + UpgradeRefusals.shapeOf(current.freshState()) + " but the new model needs " + UpgradeRefusals.shapeOf(m.freshState())
                            + " (use REPLAY or RESET)";
                }
                return null;
            case REPLAY:
                return settings.replayWindow == 0 ? "REPLAY needs " + MambaOptions.UPGRADE_REPLAY_WINDOW.key()
                        + " > 0 (no inputs are kept to replay)" : null;
            default:
                return null;
        }
    }

    private void report(ModelUpdateOutcome o) {
        (o.accepted ? updates.applied : updates.refused).inc();
        output.collect(MambaOperators.MODEL_UPDATES, new StreamRecord<>(o));
    }

    /** The running model's version label: for tests. */
    String runningVersion() {
        return modelVersion;
    }

    /** Updates received and not yet accepted or refused: for tests. */
    int updatesLoading() {
        return updates == null ? 0 : updates.loading.size();
    }

    /** The hot-swap bookkeeping (null in one-input mode): for tests. */
    ModelUpdates modelUpdates() {
        return updates;
    }

    /** A copy of the key's state, or null when it has none: for tests and tools. */
    @SuppressWarnings("unchecked")
    KeyState stateOf(K key) throws Exception {
        K saved = (K) getCurrentKey();
        setCurrentKey(key);
        KeyState s = keyState.value();
        if (saved != null) {
            setCurrentKey(saved);
        }
        return s == null ? null : s.deepCopy();
    }

}
