package io.flinkmamba.examples.jobs;

import io.flinkmamba.connectors.KafkaOptions;
import io.flinkmamba.operator.ScoringMode;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.util.ParameterTool;
import org.apache.flink.util.TimeUtils;

import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The anomaly jobs' settings, the Flink way: {@link ParameterTool} over the command line
 * ({@code --model DIR --mode micro-batch --kafka.bootstrap-servers host:9092 ...}) and, with
 * {@code --config FILE}, a properties file with the same keys (the command line wins).
 *
 * <p>Short keys: {@code model}, {@code model-version}, {@code mode} (per-event | micro-batch),
 * {@code device} (cpu | gpu | auto), {@code checkpoint-interval} (e.g. 10s), {@code parallelism},
 * {@code out-of-orderness} (event-time watermark bound, e.g. 5s), {@code threshold} (anomaly
 * likelihood threshold), {@code bounded} (true: stop at the input topic's end offsets as of the start;
 * for tests and backfills), {@code model-updates-topic} (a Kafka topic of {@code ModelUpdate} records: the
 * model is hot-swapped while the job runs, see docs/model-upgrades.md). Every key with a dot goes to the job's Flink configuration as is:
 * {@code kafka.*} ({@link KafkaOptions}, with {@code kafka.properties.*} for SASL/SSL), {@code mamba.*}
 * (the operator's options) and any Flink option. Shorthands: {@code bootstrap}, {@code input-topic},
 * {@code output-topic}, {@code dead-letter-topic}, {@code group-id} for the {@code kafka.} options of
 * those names ({@code kafka.bootstrap-servers} for the first); the group id defaults to
 * {@value #DEFAULT_GROUP_ID}.
 */
public final class JobConfig {
    private static final Set<String> SHORT = Set.of("config", "model", "model-version", "mode", "device",
            "checkpoint-interval", "parallelism", "out-of-orderness", "threshold", "bounded", "model-updates-topic");
    /** Shorthands for the common Kafka options. */
    private static final Map<String, String> KAFKA_ALIASES = Map.of(
            "bootstrap", "kafka.bootstrap-servers", "input-topic", "kafka.input-topic",
            "output-topic", "kafka.output-topic", "dead-letter-topic", "kafka.dead-letter-topic",
            "group-id", "kafka.group-id");
    /** The source's consumer group when none is given. */
    public static final String DEFAULT_GROUP_ID = "flink-mamba-anomaly-scorer";

    private final Configuration configuration;
    private final String model;
    private final String modelVersion;
    private final int parallelism;
    private final Duration outOfOrderness;
    private final boolean bounded;
    private final String modelUpdatesTopic;

    private JobConfig(Map<String, String> settings, String defaultModel) {
        Configuration conf = new Configuration();
        conf.setString("kafka.group-id", DEFAULT_GROUP_ID);
        for (Map.Entry<String, String> e : settings.entrySet()) {
            if (KAFKA_ALIASES.containsKey(e.getKey())) {
                conf.setString(KAFKA_ALIASES.get(e.getKey()), e.getValue());
            } else if (e.getKey().contains(".")) {
                conf.setString(e.getKey(), e.getValue());
            } else if (!SHORT.contains(e.getKey())) {
                java.util.Set<String> known = new java.util.TreeSet<>(SHORT);
                known.addAll(KAFKA_ALIASES.keySet());
                throw new IllegalArgumentException("unknown option --" + e.getKey() + "; known: " + known
                        + " and any kafka.*, mamba.* or Flink option");
            }
        }
        this.model = settings.getOrDefault("model", defaultModel);
        String dirName = java.nio.file.Path.of(model).getFileName().toString();
        this.modelVersion = settings.getOrDefault("model-version", dirName);
        if (settings.containsKey("mode")) {
            conf.setString("mamba.mode", parseMode(settings.get("mode")).name());
        }
        if (settings.containsKey("device")) {
            conf.setString("mamba.device", settings.get("device"));
        }
        if (settings.containsKey("threshold")) {
            double t = Double.parseDouble(settings.get("threshold"));
            if (!(t > 0 && t < 1)) {
                throw new IllegalArgumentException("--threshold must be in (0, 1), got " + t);
            }
            conf.setString("mamba.anomaly.threshold", Double.toString(t));
        }
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL,
                TimeUtils.parseDuration(settings.getOrDefault("checkpoint-interval", "10s")));
        this.parallelism = Integer.parseInt(settings.getOrDefault("parallelism", "1"));
        this.outOfOrderness = TimeUtils.parseDuration(settings.getOrDefault("out-of-orderness", "5s"));
        this.bounded = Boolean.parseBoolean(settings.getOrDefault("bounded", "false"));
        String updates = settings.get("model-updates-topic");
        this.modelUpdatesTopic = updates == null || updates.isBlank() ? null : updates.trim();
        this.configuration = conf;
        KafkaOptions.fromConfiguration(conf); // refuse a misspelled or missing Kafka option now
    }

    /** Parses the command line (and the {@code --config} file it names). */
    public static JobConfig fromArgs(String[] args, String defaultModel) throws IOException {
        ParameterTool params = ParameterTool.fromArgs(args);
        if (params.has("config")) {
            params = ParameterTool.fromPropertiesFile(params.get("config")).mergeWith(params);
        }
        return new JobConfig(new TreeMap<>(params.toMap()), defaultModel);
    }

    public static JobConfig fromMap(Map<String, String> settings, String defaultModel) {
        return new JobConfig(new TreeMap<>(settings), defaultModel);
    }

    static ScoringMode parseMode(String mode) {
        switch (mode.toLowerCase(Locale.ROOT).replace('_', '-')) {
            case "per-event": return ScoringMode.PER_EVENT;
            case "micro-batch": return ScoringMode.MICRO_BATCH;
            default: throw new IllegalArgumentException("--mode must be per-event or micro-batch, got " + mode);
        }
    }

    /** The job's Flink configuration (Kafka, operator and Flink options, checkpoint interval). */
    public Configuration configuration() { return configuration; }
    public KafkaOptions kafka() { return KafkaOptions.fromConfiguration(configuration); }
    public String model() { return model; }
    public String modelVersion() { return modelVersion; }
    public int parallelism() { return parallelism; }
    public Duration outOfOrderness() { return outOfOrderness; }
    public boolean bounded() { return bounded; }
    /** The Kafka topic of model updates (hot swap), or null for none. */
    public String modelUpdatesTopic() { return modelUpdatesTopic; }
}
