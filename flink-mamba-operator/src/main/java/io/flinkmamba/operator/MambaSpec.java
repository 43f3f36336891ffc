package io.flinkmamba.operator;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/**
 * What to score and how: the model directory (loaded in the operator's {@code open()}), its
 * version label, the feature extractor and option overrides. Serializable: it travels with the job.
 *
 * <pre>{@code
 * MambaSpec<Txn> spec = MambaSpec.<Txn>builder("/models/fraud-v3", "v3", txn -> txn.features())
 *         .mode(ScoringMode.MICRO_BATCH).batchMaxEvents(256).build();
 * }</pre>
 */
public final class MambaSpec<IN> implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The operator's default uid: stable, so savepoints map state back to it. */
    public static final String DEFAULT_UID = "mamba-scoring";

    private final String modelPath;
    private final String modelVersion;
    private final FeatureExtractor<IN> extractor;
    private final InputAdapter inputAdapter;
    private final Configuration overrides;
    private final String uid;
    private final String name;

    private MambaSpec(Builder<IN> b) {
        this.modelPath = b.modelPath;
        this.modelVersion = b.modelVersion;
        this.extractor = b.extractor;
        this.inputAdapter = b.inputAdapter;
        this.overrides = new Configuration(b.overrides);
        this.uid = b.uid;
        this.name = b.name;
    }

    public static <IN> Builder<IN> builder(String modelPath, String modelVersion, FeatureExtractor<IN> extractor) {
        return new Builder<>(modelPath, modelVersion, extractor);
    }

    public String modelPath() { return modelPath; }
    public String modelVersion() { return modelVersion; }
    public FeatureExtractor<IN> extractor() { return extractor; }
    public InputAdapter inputAdapter() { return inputAdapter; }
    public String uid() { return uid; }
    public String name() { return name; }

    /** The options in effect: the job's configuration, overridden by what the builder set. */
    MambaSettings resolve(ReadableConfig jobConfig) {
        Configuration merged = new Configuration();
        for (ConfigOption<?> option : MambaOptions.ALL) {
            copy(jobConfig, merged, option);
        }
        merged.addAll(overrides);
        return new MambaSettings(merged);
    }

    private static <T> void copy(ReadableConfig from, Configuration to, ConfigOption<T> option) {
        from.getOptional(option).ifPresent(v -> to.set(option, v));
    }

    public static final class Builder<IN> {
        private final String modelPath;
        private final String modelVersion;
        private final FeatureExtractor<IN> extractor;
        private InputAdapter inputAdapter = new IdentityInputAdapter();
        private final Configuration overrides = new Configuration();
        private String uid = DEFAULT_UID;
        private String name = "Mamba scoring";

        private Builder(String modelPath, String modelVersion, FeatureExtractor<IN> extractor) {
            this.modelPath = Objects.requireNonNull(modelPath, "modelPath");
            this.modelVersion = Objects.requireNonNull(modelVersion, "modelVersion");
            this.extractor = Objects.requireNonNull(extractor, "extractor");
        }

        public Builder<IN> mode(ScoringMode mode) { return set(MambaOptions.MODE, mode); }
        public Builder<IN> batchMaxEvents(int n) { return set(MambaOptions.BATCH_MAX_EVENTS, n); }
        public Builder<IN> batchMaxDelay(Duration d) { return set(MambaOptions.BATCH_MAX_DELAY, d); }
        public Builder<IN> flushOnCheckpoint(boolean flush) { return set(MambaOptions.BATCH_FLUSH_ON_CHECKPOINT, flush); }
        public Builder<IN> device(String device) { return set(MambaOptions.DEVICE, device); }
        public Builder<IN> gpuPrecision(io.flinkmamba.kernels.gpu.GpuPrecision p) { return set(MambaOptions.GPU_PRECISION, p); }
        public Builder<IN> ordering(Ordering ordering) { return set(MambaOptions.ORDERING, ordering); }
        public Builder<IN> allowedLateness(Duration d) { return set(MambaOptions.ALLOWED_LATENESS, d); }
        public Builder<IN> expectedStateBackend(String backend) { return set(MambaOptions.EXPECTED_STATE_BACKEND, backend); }
        /** @deprecated use {@link #upgradePolicy}. */
        @Deprecated
        public Builder<IN> onModelChange(ModelChangePolicy p) { return set(MambaOptions.ON_MODEL_CHANGE, p); }
        public Builder<IN> upgradePolicy(UpgradePolicy p) { return set(MambaOptions.UPGRADE_POLICY, p); }
        public Builder<IN> replayWindow(int events) { return set(MambaOptions.UPGRADE_REPLAY_WINDOW, events); }
        public Builder<IN> scoreWarmupEvents(int n) { return set(MambaOptions.SCORE_WARMUP_EVENTS, n); }
        public Builder<IN> anomalyThreshold(double t) { return set(MambaOptions.ANOMALY_THRESHOLD, t); }
        public Builder<IN> anomalyWarmupEvents(int n) { return set(MambaOptions.ANOMALY_WARMUP_EVENTS, n); }
        public Builder<IN> anomalyWindow(int n) { return set(MambaOptions.ANOMALY_WINDOW, n); }

        /** Overrides any {@link MambaOptions} option. */
        public <T> Builder<IN> set(ConfigOption<T> option, T value) {
            overrides.set(option, value);
            return this;
        }

        public Builder<IN> inputAdapter(InputAdapter adapter) {
            this.inputAdapter = Objects.requireNonNull(adapter, "adapter");
            return this;
        }

        public Builder<IN> uid(String uid) {
            this.uid = Objects.requireNonNull(uid, "uid");
            return this;
        }

        public Builder<IN> name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        public MambaSpec<IN> build() {
            MambaSpec<IN> spec = new MambaSpec<>(this);
            spec.resolve(new Configuration()); // validate the overrides now, not at job start
            return spec;
        }
    }
}
