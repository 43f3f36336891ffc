package io.flinkmamba.examples.jobs;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.KafkaConnectors;
import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.ModelUpdate;
import io.flinkmamba.operator.ModelUpdateOutcome;
import io.flinkmamba.operator.UpgradePolicy;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The anomaly jobs' model-updates topic ({@code --model-updates-topic}): Avro {@code ModelUpdate}
 * records in the connectors' single-object encoding, read from the group's committed offsets (the
 * earliest where it has none, so a new job converges to the latest published model), turned into
 * the operator's {@link ModelUpdate}. Undecodable records and unknown policies become dead letters;
 * so do updates a subtask refused (from {@link MambaOperators#MODEL_UPDATES}).
 */
public final class ModelUpdateRecords {
    static final OutputTag<DeadLetter> BAD_UPDATES = new OutputTag<>("bad-model-updates", TypeInformation.of(DeadLetter.class));

    private ModelUpdateRecords() {
    }

    /** The decoded updates and the dead letters of those that could not be used. */
    public record Updates(DataStream<ModelUpdate> updates, DataStream<DeadLetter> deadLetters) {}

    public static Updates read(StreamExecutionEnvironment env, JobConfig config, String topic) {
        KafkaSourceBuilder<Either<DeadLetter, io.flinkmamba.connectors.avro.ModelUpdate>> source = KafkaConnectors.sourceBuilder(
                config.kafka(), AvroRecordCodec.of(io.flinkmamba.connectors.avro.ModelUpdate.class), topic);
        if (config.bounded()) {
            source.setBounded(OffsetsInitializer.latest());
        }
        KafkaConnectors.Decoded<io.flinkmamba.connectors.avro.ModelUpdate> decoded =
                KafkaConnectors.read(env, source.build(), WatermarkStrategy.noWatermarks(), "model-updates");
        SingleOutputStreamOperator<ModelUpdate> updates = decoded.records()
                .process(new ToOperatorUpdate(topic), TypeInformation.of(ModelUpdate.class))
                .name("model-updates-convert").uid("model-updates-convert");
        return new Updates(updates, decoded.deadLetters().union(updates.getSideOutput(BAD_UPDATES)));
    }

    /** The operator's update for a record; an unknown policy name is a dead letter. */
    static final class ToOperatorUpdate extends ProcessFunction<io.flinkmamba.connectors.avro.ModelUpdate, ModelUpdate> {
        private static final long serialVersionUID = 1L;
        private final String topic;

        ToOperatorUpdate(String topic) {
            this.topic = topic;
        }

        @Override
        public void processElement(io.flinkmamba.connectors.avro.ModelUpdate r, Context ctx, Collector<ModelUpdate> out) {
            UpgradePolicy policy = null;
            if (r.getPolicy() != null && !r.getPolicy().isBlank()) {
                try {
                    policy = UpgradePolicy.valueOf(r.getPolicy().trim().toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    ctx.output(BAD_UPDATES, deadLetter(topic, "model update " + r.getVersion() + ": unknown policy '"
                            + r.getPolicy() + "' (CARRY, REPLAY, RESET or FAIL)", r.toString()));
                    return;
                }
            }
            out.collect(new ModelUpdate(r.getModelUri(), r.getSha256(), r.getVersion(), policy));
        }
    }

    /** The updates some subtask refused, as dead letters of the updates topic (accepted ones are only logged). */
    public static DataStream<DeadLetter> refusals(SingleOutputStreamOperator<?> scores, String topic) {
        return scores.getSideOutput(MambaOperators.MODEL_UPDATES)
                .filter(o -> !o.accepted)
                .name("model-update-refusals").uid("model-update-refusals")
                .map(o -> refusal(o, topic), TypeInformation.of(DeadLetter.class))
                .name("model-update-refusals-as-dead-letters").uid("model-update-refusals-as-dead-letters");
    }

    static DeadLetter refusal(ModelUpdateOutcome o, String topic) {
        return deadLetter(topic, "model update " + o.version + " refused by subtask " + o.subtask + " (still scoring with "
                + o.previousVersion + "): " + o.reason, o.toString());
    }

    private static DeadLetter deadLetter(String topic, String reason, String value) {
        return DeadLetter.newBuilder()
                .setTopic(topic)
                .setPartition(-1)
                .setOffset(-1)
                .setTimestamp(System.currentTimeMillis())
                .setReason(reason)
                .setKey(null)
                .setValue(ByteBuffer.wrap(value.getBytes(StandardCharsets.UTF_8)))
                .build();
    }
}
