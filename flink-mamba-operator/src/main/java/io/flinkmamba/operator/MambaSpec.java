package io.flinkmamba.operator;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/** Everything the scoring operator needs to know, built from a Flink configuration and/or a builder. */
public final class MambaSpec implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String modelPath;
    private final String modelVersion;
    private final ScoringMode mode;
    private final int batchMaxEvents;
    private final Duration batchMaxDelay;
    private final String device;
    private final EventOrdering ordering;
    private final Duration allowedLateness;
    private final ModelChangePolicy modelChangePolicy;

    private MambaSpec(Builder b) {
        this.modelPath = Objects.requireNonNull(b.conf.get(MambaOptions.MODEL_PATH),
                "the model path is required (" + MambaOptions.MODEL_PATH.key() + ")");
        this.modelVersion = b.conf.get(MambaOptions.MODEL_VERSION);
        this.mode = b.conf.get(MambaOptions.MODE);
        this.batchMaxEvents = b.conf.get(MambaOptions.BATCH_MAX_EVENTS);
        this.batchMaxDelay = b.conf.get(MambaOptions.BATCH_MAX_DELAY);
        this.device = b.conf.get(MambaOptions.DEVICE);
        this.ordering = b.conf.get(MambaOptions.ORDERING);
        this.allowedLateness = b.conf.get(MambaOptions.ALLOWED_LATENESS);
        this.modelChangePolicy = b.conf.get(MambaOptions.MODEL_CHANGE_POLICY);
        if (batchMaxEvents < 1) {
            throw new IllegalArgumentException(MambaOptions.BATCH_MAX_EVENTS.key() + " must be >= 1, got " + batchMaxEvents);
        }
        if (batchMaxDelay.isNegative() || batchMaxDelay.isZero()) {
            throw new IllegalArgumentException(MambaOptions.BATCH_MAX_DELAY.key() + " must be positive, got " + batchMaxDelay);
        }
        if (allowedLateness.isNegative()) {
            throw new IllegalArgumentException(MambaOptions.ALLOWED_LATENESS.key() + " must not be negative");
        }
        if (!device.equals("cpu") && !device.equals("gpu") && !device.equals("auto")) {
            throw new IllegalArgumentException(MambaOptions.DEVICE.key() + " must be cpu, gpu or auto, got '" + device + "'");
        }
    }

    public static Builder builder(String modelPath) {
        return new Builder().set(MambaOptions.MODEL_PATH, modelPath);
    }

    /** A spec from the job's configuration (the {@code mamba.*} options). */
    public static MambaSpec fromConfiguration(ReadableConfig config) {
        return new Builder().withConfiguration(config).build();
    }

    private static Configuration toConfiguration(ReadableConfig config) {
        if (config instanceof Configuration) {
            return (Configuration) config;
        }
        Configuration c = new Configuration();
        for (var opt : new org.apache.flink.configuration.ConfigOption<?>[] {MambaOptions.MODEL_PATH, MambaOptions.MODEL_VERSION,
                MambaOptions.MODE, MambaOptions.BATCH_MAX_EVENTS, MambaOptions.BATCH_MAX_DELAY, MambaOptions.DEVICE,
                MambaOptions.ORDERING, MambaOptions.ALLOWED_LATENESS, MambaOptions.MODEL_CHANGE_POLICY}) {
            copy(config, c, opt);
        }
        return c;
    }

    private static <T> void copy(ReadableConfig from, Configuration to, org.apache.flink.configuration.ConfigOption<T> opt) {
        from.getOptional(opt).ifPresent(v -> to.set(opt, v));
    }

    public String modelPath() { return modelPath; }
    public String modelVersion() { return modelVersion; }
    public ScoringMode mode() { return mode; }
    public int batchMaxEvents() { return batchMaxEvents; }
    public Duration batchMaxDelay() { return batchMaxDelay; }
    public String device() { return device; }
    public EventOrdering ordering() { return ordering; }
    public Duration allowedLateness() { return allowedLateness; }
    public ModelChangePolicy modelChangePolicy() { return modelChangePolicy; }

    @Override
    public String toString() {
        return "MambaSpec{model=" + modelPath + " (" + modelVersion + "), mode=" + mode + ", batchMaxEvents=" + batchMaxEvents
                + ", batchMaxDelay=" + batchMaxDelay + ", device=" + device + ", ordering=" + ordering
                + ", allowedLateness=" + allowedLateness + ", modelChangePolicy=" + modelChangePolicy + "}";
    }

    /** Starts from the options' defaults; {@link #withConfiguration} applies a job's {@code mamba.*} settings. */
    public static final class Builder {
        private final Configuration conf = new Configuration();

        public <T> Builder set(org.apache.flink.configuration.ConfigOption<T> option, T value) {
            conf.set(option, value);
            return this;
        }

        public Builder withConfiguration(ReadableConfig config) {
            conf.addAll(toConfiguration(config));
            return this;
        }

        public Builder modelVersion(String v) { return set(MambaOptions.MODEL_VERSION, v); }
        public Builder mode(ScoringMode m) { return set(MambaOptions.MODE, m); }
        public Builder batchMaxEvents(int n) { return set(MambaOptions.BATCH_MAX_EVENTS, n); }
        public Builder batchMaxDelay(Duration d) { return set(MambaOptions.BATCH_MAX_DELAY, d); }
        public Builder device(String d) { return set(MambaOptions.DEVICE, d); }
        public Builder ordering(EventOrdering o) { return set(MambaOptions.ORDERING, o); }
        public Builder allowedLateness(Duration d) { return set(MambaOptions.ALLOWED_LATENESS, d); }
        public Builder modelChangePolicy(ModelChangePolicy p) { return set(MambaOptions.MODEL_CHANGE_POLICY, p); }

        public MambaSpec build() {
            return new MambaSpec(this);
        }
    }
}
