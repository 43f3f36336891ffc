package io.flinkmamba.operator;

import org.apache.flink.api.common.typeinfo.BasicTypeInfo;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.util.OutputTag;

import java.util.HashMap;
import java.util.Map;

/**
 * DataStream entry point:
 *
 * <pre>{@code
 * SingleOutputStreamOperator<MambaScore<String>> scores =
 *         MambaOperators.score(events.keyBy(e -> e.accountId), spec);
 * DataStream<RejectedEvent> rejected = scores.getSideOutput(MambaOperators.REJECTED);
 * }</pre>
 */
public final class MambaOperators {
    private MambaOperators() {
    }

    /** Events that were not scored (invalid features, late), with the reason. */
    public static final OutputTag<RejectedEvent> REJECTED =
            new OutputTag<>("mamba-rejected", TypeInformation.of(RejectedEvent.class));

    /** What each subtask did with each model update (hot swap): accepted or refused, with the reason. */
    public static final OutputTag<ModelUpdateOutcome> MODEL_UPDATES =
            new OutputTag<>("mamba-model-updates", TypeInformation.of(ModelUpdateOutcome.class));

    /**
     * Scores every event of the keyed stream with the spec's model, advancing its key's state. Options
     * come from the job's configuration ({@link MambaOptions}), overridden by the spec's builder.
     * The operator gets the spec's uid (default {@value MambaSpec#DEFAULT_UID}).
     */
    public static <K, IN> SingleOutputStreamOperator<MambaScore<K>> score(KeyedStream<IN, K> stream, MambaSpec<IN> spec) {
        MambaSettings settings = spec.resolve(stream.getExecutionEnvironment().getConfiguration());
        return stream
                .transform(spec.name(), scoreType(stream.getKeyType()), new MambaScoringOperator<K, IN>(spec, settings))
                .uid(spec.uid());
    }

    /**
     * Scores every event of the keyed stream for anomalies with the forecaster directory at
     * {@code spec.modelPath()} (config.json with a {@code flink_mamba} block + model.safetensors); the
     * spec's extractor yields the forecaster's F raw features. Each output carries the forecast of the
     * event made before it, the event's score (negative log-likelihood) and its anomaly likelihood
     * calibrated per key ({@link MambaOptions#ANOMALY_THRESHOLD}, {@link MambaOptions#ANOMALY_WARMUP_EVENTS}).
     * Events with NaN/infinite features or another feature count go to {@link #REJECTED}. Works in both
     * modes and on every device, with the same results.
     */
    public static <K, IN> SingleOutputStreamOperator<AnomalyScore<K>> scoreAnomalies(KeyedStream<IN, K> stream,
                                                                                     MambaSpec<IN> spec) {
        MambaSettings settings = spec.resolve(stream.getExecutionEnvironment().getConfiguration());
        return stream
                .transform(spec.name(), anomalyScoreType(stream.getKeyType()), new AnomalyScoringOperator<K, IN>(spec, settings))
                .uid(spec.uid());
    }

    /**
     * {@link #score(KeyedStream, MambaSpec)} whose model can be replaced while the job runs: every
     * {@link ModelUpdate} of {@code updates} is broadcast to all subtasks, each fetches and checks it off
     * the hot path and switches between two events; keys of the old model are then upgraded on their
     * first event by the update's policy (else {@code mamba.upgrade.policy}), as after a restore with a
     * new model. Accepted and refused updates (with the reason) go to {@link #MODEL_UPDATES}; a refused
     * one leaves the running model in place. The accepted update is kept in operator state: a restored
     * job reloads it. {@code updates} should have parallelism 1 (one Kafka partition) so that every
     * subtask sees them in the same order; their watermarks are ignored.
     */
    public static <K, IN> SingleOutputStreamOperator<MambaScore<K>> score(KeyedStream<IN, K> stream, MambaSpec<IN> spec,
                                                                          DataStream<ModelUpdate> updates) {
        MambaSettings settings = spec.resolve(stream.getExecutionEnvironment().getConfiguration());
        return stream.connect(updates.broadcast())
                .transform(spec.name(), scoreType(stream.getKeyType()),
                        new MambaScoringOperator<K, IN>(spec, settings).acceptModelUpdates())
                .uid(spec.uid());
    }

    /** {@link #scoreAnomalies(KeyedStream, MambaSpec)} with hot swap of the forecaster: see {@link #score(KeyedStream, MambaSpec, DataStream)}. */
    public static <K, IN> SingleOutputStreamOperator<AnomalyScore<K>> scoreAnomalies(KeyedStream<IN, K> stream,
                                                                                     MambaSpec<IN> spec,
                                                                                     DataStream<ModelUpdate> updates) {
        MambaSettings settings = spec.resolve(stream.getExecutionEnvironment().getConfiguration());
        return stream.connect(updates.broadcast())
                .transform(spec.name(), anomalyScoreType(stream.getKeyType()),
                        new AnomalyScoringOperator<K, IN>(spec, settings).acceptModelUpdates())
                .uid(spec.uid());
    }

    /** Type information of {@link MambaScore} for a key type: a POJO, never Kryo. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static <K> TypeInformation<MambaScore<K>> scoreType(TypeInformation<K> keyType) {
        Map<String, TypeInformation<?>> fields = new HashMap<>();
        fields.put("key", keyType);
        fields.put("eventTime", BasicTypeInfo.LONG_TYPE_INFO);
        fields.put("output", PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO);
        fields.put("modelVersion", BasicTypeInfo.STRING_TYPE_INFO);
        fields.put("modelFingerprint", BasicTypeInfo.STRING_TYPE_INFO);
        fields.put("eventsSeen", BasicTypeInfo.LONG_TYPE_INFO);
        fields.put("warmingUp", BasicTypeInfo.BOOLEAN_TYPE_INFO);
        return (TypeInformation) Types.POJO(MambaScore.class, fields);
    }

    /** Type information of {@link AnomalyScore} for a key type: a POJO, never Kryo. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static <K> TypeInformation<AnomalyScore<K>> anomalyScoreType(TypeInformation<K> keyType) {
        Map<String, TypeInformation<?>> fields = new HashMap<>();
        fields.put("key", keyType);
        fields.put("eventTime", BasicTypeInfo.LONG_TYPE_INFO);
        fields.put("input", PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO);
        fields.put("forecast", PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO);
        fields.put("forecastStd", PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO);
        fields.put("score", BasicTypeInfo.DOUBLE_TYPE_INFO);
        fields.put("anomalyLikelihood", BasicTypeInfo.DOUBLE_TYPE_INFO);
        fields.put("isAnomaly", BasicTypeInfo.BOOLEAN_TYPE_INFO);
        fields.put("warmingUp", BasicTypeInfo.BOOLEAN_TYPE_INFO);
        fields.put("modelVersion", BasicTypeInfo.STRING_TYPE_INFO);
        fields.put("modelFingerprint", BasicTypeInfo.STRING_TYPE_INFO);
        fields.put("eventsSeen", BasicTypeInfo.LONG_TYPE_INFO);
        return (TypeInformation) Types.POJO(AnomalyScore.class, fields);
    }
}
