package io.flinkmamba.examples.jobs;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.KafkaConnectors;
import io.flinkmamba.connectors.KafkaOptions;
import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.operator.AnomalyScore;
import io.flinkmamba.operator.FeatureExtractor;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaSpec;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;
import org.apache.flink.util.function.SerializableFunction;

/**
 * The anomaly jobs' common shape: Kafka Avro source (undecodable records become dead letters) with
 * event-time watermarks → per-key features → the scorer ({@link Scoring}) → exactly-once Kafka sink
 * of {@code AnomalyScore} records; every dead letter (undecodable, rejected by the feature step or
 * the scorer, unencodable) goes to the dead-letter topic with its reason. With a model-updates topic
 * ({@link ModelUpdateRecords}) the scorer's model is hot-swapped while the job runs; updates that
 * cannot be decoded or that a subtask refused are dead letters too.
 */
public final class AnomalyPipeline {
    private AnomalyPipeline() {
    }

    /**
     * @param features turns the decoded records into the keyed stream the scorer reads; it returns
     *     any records it rejects itself as dead letters (or null for none)
     */
    public static <T extends SpecificRecordBase, IN> void build(
            StreamExecutionEnvironment env, JobConfig config, AvroRecordCodec<T> codec,
            SerializableFunction<T, Long> eventTimeOf, FeatureStep<T, IN> features,
            FeatureExtractor<IN> extractor, String name) {
        KafkaOptions kafka = config.kafka();
        KafkaSourceBuilder<Either<DeadLetter, T>> source = KafkaConnectors.sourceBuilder(kafka, codec);
        if (config.bounded()) {
            source.setBounded(OffsetsInitializer.latest());
        }
        WatermarkStrategy<Either<DeadLetter, T>> watermarks = WatermarkStrategy
                .<Either<DeadLetter, T>>forBoundedOutOfOrderness(config.outOfOrderness())
                .withTimestampAssigner((e, kafkaTime) -> e.isRight() ? eventTimeOf.apply(e.right()) : kafkaTime);
        KafkaConnectors.Decoded<T> decoded = KafkaConnectors.read(env, source.build(), watermarks, name);

        FeatureStep.Result<IN> keyed = features.apply(decoded.records(), kafka.inputTopic());
        MambaSpec<IN> spec = MambaSpec.builder(config.model(), config.modelVersion(), extractor)
                .name("anomaly scoring").uid("anomaly-scoring").build();
        ModelUpdateRecords.Updates updates = config.modelUpdatesTopic() == null ? null
                : ModelUpdateRecords.read(env, config, config.modelUpdatesTopic());
        SingleOutputStreamOperator<AnomalyScore<String>> scores =
                Scoring.scoreAnomalies(keyed.stream(), spec, updates == null ? null : updates.updates());

        String inputTopic = kafka.inputTopic();
        DataStream<DeadLetter> rejected = scores.getSideOutput(MambaOperators.REJECTED)
                .map(r -> ScoreRecords.rejected(r, inputTopic), TypeInformation.of(DeadLetter.class))
                .name("rejected-as-dead-letters").uid("rejected-as-dead-letters");
        DataStream<io.flinkmamba.connectors.avro.AnomalyScore> avro = scores
                .map(ScoreRecords::toAvro, TypeInformation.of(io.flinkmamba.connectors.avro.AnomalyScore.class))
                .name("to-avro").uid("to-avro");
        DataStream<DeadLetter> unencodable = KafkaConnectors.write(avro, kafka,
                AvroRecordCodec.of(io.flinkmamba.connectors.avro.AnomalyScore.class),
                io.flinkmamba.connectors.avro.AnomalyScore::getKey, "scores");
        DataStream<DeadLetter> dead = decoded.deadLetters().union(rejected, unencodable);
        if (keyed.deadLetters() != null) {
            dead = dead.union(keyed.deadLetters());
        }
        if (updates != null) {
            dead = dead.union(updates.deadLetters(), ModelUpdateRecords.refusals(scores, config.modelUpdatesTopic()));
        }
        KafkaConnectors.writeDeadLetters(dead, kafka);
    }

    /** The job-specific step between decoding and scoring. */
    @FunctionalInterface
    public interface FeatureStep<T, IN> {
        Result<IN> apply(DataStream<T> records, String inputTopic);

        record Result<IN>(KeyedStream<IN, String> stream, DataStream<DeadLetter> deadLetters) {}
    }
}
