package io.flinkmamba.operator;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.time.Duration;

/** Flink configuration options of the Mamba scoring operator (also settable on {@link MambaSpec.Builder}). */
public final class MambaOptions {
    private MambaOptions() {
    }

    public static final ConfigOption<String> MODEL_PATH = ConfigOptions.key("mamba.model.path")
            .stringType().noDefaultValue()
            .withDescription("Directory of the Hugging Face Mamba checkpoint (config.json + model.safetensors), "
                    + "readable from every TaskManager.");

    public static final ConfigOption<String> MODEL_VERSION = ConfigOptions.key("mamba.model.version")
            .stringType().defaultValue("unversioned")
            .withDescription("Version label of the model, carried by every output and recorded in each key's state.");

    public static final ConfigOption<ScoringMode> MODE = ConfigOptions.key("mamba.mode")
            .enumType(ScoringMode.class).defaultValue(ScoringMode.PER_EVENT)
            .withDescription("PER_EVENT scores each event when it arrives; MICRO_BATCH buffers events per key and "
                    + "scores all pending keys of a subtask in one batched parallel call.");

    public static final ConfigOption<Integer> BATCH_MAX_EVENTS = ConfigOptions.key("mamba.batch.max-events")
            .intType().defaultValue(4096)
            .withDescription("MICRO_BATCH: flush when this many events are pending in the subtask.");

    public static final ConfigOption<Duration> BATCH_MAX_DELAY = ConfigOptions.key("mamba.batch.max-delay")
            .durationType().defaultValue(Duration.ofMillis(200))
            .withDescription("MICRO_BATCH: flush at the latest this long (processing time) after the first pending event.");

    public static final ConfigOption<String> DEVICE = ConfigOptions.key("mamba.device")
            .stringType().defaultValue("cpu")
            .withDescription("MICRO_BATCH: cpu, gpu (fail at start without a usable GPU) or auto (GPU when usable, else CPU).");

    public static final ConfigOption<EventOrdering> ORDERING = ConfigOptions.key("mamba.ordering")
            .enumType(EventOrdering.class).defaultValue(EventOrdering.ARRIVAL)
            .withDescription("ARRIVAL applies events as they arrive; EVENT_TIME buffers them until the watermark "
                    + "and applies them in event-time order.");

    public static final ConfigOption<Duration> ALLOWED_LATENESS = ConfigOptions.key("mamba.allowed-lateness")
            .durationType().defaultValue(Duration.ZERO)
            .withDescription("EVENT_TIME: events older than the watermark minus this go to the rejected output.");

    public static final ConfigOption<ModelChangePolicy> MODEL_CHANGE_POLICY = ConfigOptions.key("mamba.model.change-policy")
            .enumType(ModelChangePolicy.class).defaultValue(ModelChangePolicy.FAIL)
            .withDescription("What to do with a key's state written by another model after a restore.");
}
