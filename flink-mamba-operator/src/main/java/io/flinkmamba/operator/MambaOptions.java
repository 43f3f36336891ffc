package io.flinkmamba.operator;

import io.flinkmamba.kernels.gpu.GpuPrecision;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

import java.time.Duration;
import java.util.List;

/**
 * Options of the Mamba operator, read from the job's configuration ({@code -Dmamba.mode=micro_batch}
 * or {@code Configuration.set}); {@link MambaSpec.Builder} settings override them.
 */
public final class MambaOptions {
    private MambaOptions() {
    }

    public static final ConfigOption<ScoringMode> MODE = ConfigOptions.key("mamba.mode")
            .enumType(ScoringMode.class).defaultValue(ScoringMode.PER_EVENT)
            .withDescription("PER_EVENT: score every event on arrival (recurrent step). MICRO_BATCH: buffer events "
                    + "per key and score all pending keys of the subtask with one batched call.");

    public static final ConfigOption<Integer> BATCH_MAX_EVENTS = ConfigOptions.key("mamba.batch.max-events")
            .intType().defaultValue(512)
            .withDescription("Micro-batch: flush once this many events are pending in the subtask.");

    public static final ConfigOption<Duration> BATCH_MAX_DELAY = ConfigOptions.key("mamba.batch.max-delay")
            .durationType().defaultValue(Duration.ofMillis(100))
            .withDescription("Micro-batch: flush at the latest this long (processing time) after the first pending event.");

    public static final ConfigOption<Boolean> BATCH_FLUSH_ON_CHECKPOINT = ConfigOptions.key("mamba.batch.flush-on-checkpoint")
            .booleanType().defaultValue(true)
            .withDescription("Micro-batch: flush before every checkpoint barrier. Pending events are keyed state "
                    + "either way, so turning this off loses nothing; it only delays their outputs.");

    public static final ConfigOption<String> DEVICE = ConfigOptions.key("mamba.device")
            .stringType().defaultValue("cpu")
            .withDescription("Micro-batch implementation: cpu, gpu (fails at open() when none is available) "
                    + "or auto (gpu when available, else cpu).");

    public static final ConfigOption<GpuPrecision> GPU_PRECISION = ConfigOptions.key("mamba.gpu.precision")
            .enumType(GpuPrecision.class).noDefaultValue()
            .withDescription("mamba.device=gpu/auto: how the projections multiply. TF32X3 (tensor cores, float32 "
                    + "accuracy), FP32 (CUDA cores) or TF32 (tensor cores, about 1e-3 relative error, fastest). "
                    + "Not set: the TaskManager's -D" + GpuPrecision.PROPERTY + ", else TF32X3.");

    public static final ConfigOption<Ordering> ORDERING = ConfigOptions.key("mamba.ordering")
            .enumType(Ordering.class).defaultValue(Ordering.ARRIVAL)
            .withDescription("ARRIVAL or EVENT_TIME (buffer until the watermark, apply in event-time order).");

    public static final ConfigOption<Duration> ALLOWED_LATENESS = ConfigOptions.key("mamba.allowed-lateness")
            .durationType().defaultValue(Duration.ZERO)
            .withDescription("EVENT_TIME: events are applied once the watermark passes event time + this; "
                    + "events arriving after that go to the rejected side output.");

    public static final ConfigOption<String> EXPECTED_STATE_BACKEND = ConfigOptions.key("mamba.state.expected-backend")
            .stringType().defaultValue("any")
            .withDescription("any, heap or rocksdb: fail at open() when the keyed state backend is another one.");

    /** @deprecated read only when {@link #UPGRADE_POLICY} is not set; use that (RESET and FAIL mean the same). */
    @Deprecated
    public static final ConfigOption<ModelChangePolicy> ON_MODEL_CHANGE = ConfigOptions.key("mamba.state.on-model-change")
            .enumType(ModelChangePolicy.class).defaultValue(ModelChangePolicy.RESET)
            .withDescription("Deprecated, use mamba.upgrade.policy (read only when that is not set). A key whose "
                    + "state was written by another model (fingerprint): RESET it to a fresh state (counted in "
                    + "stateResets) or FAIL.");

    public static final ConfigOption<UpgradePolicy> UPGRADE_POLICY = ConfigOptions.key("mamba.upgrade.policy")
            .enumType(UpgradePolicy.class).noDefaultValue()
            .withDescription("A key whose state another model wrote (after a restore with a new model): CARRY its "
                    + "hidden states over (only when their shapes fit the new model, else the job fails), REPLAY the "
                    + "key's last mamba.upgrade.replay-window inputs through the new model, RESET it to a fresh state "
                    + "(warming up again) or FAIL. Not set: mamba.state.on-model-change decides (default RESET).");

    public static final ConfigOption<Integer> UPGRADE_REPLAY_WINDOW = ConfigOptions.key("mamba.upgrade.replay-window")
            .intType().defaultValue(0)
            .withDescription("How many of each key's last inputs (features and event time) the state keeps for the "
                    + "REPLAY upgrade policy; 0 keeps none. Costs about (12 + 4 x features) bytes per event per key.");

    public static final ConfigOption<Integer> SCORE_WARMUP_EVENTS = ConfigOptions.key("mamba.score.warmup-events")
            .intType().defaultValue(0)
            .withDescription("score: outputs of a key whose state has advanced through at most this many events (since "
                    + "its first event or a reset; replayed events count) are flagged warmingUp. scoreAnomalies uses "
                    + "mamba.anomaly.warmup-events.");

    public static final ConfigOption<Double> ANOMALY_THRESHOLD = ConfigOptions.key("mamba.anomaly.threshold")
            .doubleType().defaultValue(io.flinkmamba.kernels.forecast.CalibrationSettings.DEFAULT.threshold())
            .withDescription("scoreAnomalies: isAnomaly is true when the anomaly likelihood is at or above this "
                    + "(in (0, 1)) and the key is past its warm-up.");

    public static final ConfigOption<Integer> ANOMALY_WARMUP_EVENTS = ConfigOptions.key("mamba.anomaly.warmup-events")
            .intType().defaultValue(io.flinkmamba.kernels.forecast.CalibrationSettings.DEFAULT.warmupEvents())
            .withDescription("scoreAnomalies: a key's first this-many events are flagged warmingUp and never isAnomaly "
                    + "(its normaliser and score statistics are still settling).");

    public static final ConfigOption<Integer> ANOMALY_WINDOW = ConfigOptions.key("mamba.anomaly.window")
            .intType().defaultValue(io.flinkmamba.kernels.forecast.CalibrationSettings.DEFAULT.shortWindow())
            .withDescription("scoreAnomalies: how many recent scores the likelihood averages before comparing them "
                    + "with the key's long-run score distribution (1 = the event's own score).");

    public static final ConfigOption<Duration> STATE_TTL = ConfigOptions.key("mamba.state.ttl")
            .durationType().defaultValue(Duration.ZERO)
            .withDescription("Idle keys: a key's Mamba state expires this long (processing time) after its last "
                    + "update and the key starts fresh (warm-up again) if it comes back. 0 keeps states forever. "
                    + "Expired states are dropped during RocksDB compaction or, on heap, incrementally on state access "
                    + "and in full snapshots. Decide before the first deployment: Flink cannot add or remove TTL "
                    + "on restored state.");

    public static final ConfigOption<MemorySize> MODEL_UPDATE_MAX_BYTES = ConfigOptions.key("mamba.model-updates.max-bytes")
            .memoryType().defaultValue(MemorySize.parse("2gb"))
            .withDescription("Hot swap: the most bytes a model update's files (config.json + model.safetensors) may have; "
                    + "a larger update is refused before it is loaded.");

    /** Every option above, for merging the job's configuration with builder overrides. */
    public static final List<ConfigOption<?>> ALL = List.of(MODE, BATCH_MAX_EVENTS, BATCH_MAX_DELAY,
            BATCH_FLUSH_ON_CHECKPOINT, DEVICE, GPU_PRECISION, ORDERING, ALLOWED_LATENESS, EXPECTED_STATE_BACKEND, ON_MODEL_CHANGE,
            UPGRADE_POLICY, UPGRADE_REPLAY_WINDOW, SCORE_WARMUP_EVENTS, ANOMALY_THRESHOLD, ANOMALY_WARMUP_EVENTS,
            ANOMALY_WINDOW, STATE_TTL, MODEL_UPDATE_MAX_BYTES);
}
