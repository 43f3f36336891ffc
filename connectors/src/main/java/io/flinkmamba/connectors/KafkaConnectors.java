package io.flinkmamba.connectors;

import io.flinkmamba.connectors.avro.DeadLetter;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * Builds the project's Kafka sources and sinks from {@link KafkaOptions}: a source that routes
 * undecodable records to dead letters, exactly-once sinks for results and for dead letters.
 */
public final class KafkaConnectors {
  private KafkaConnectors() {}

  /**
   * A source builder for the input topic: Avro records or dead letters, starting from the group's
   * committed offsets (the earliest where it has none). Callers may still make it bounded.
   */
  public static <T extends SpecificRecordBase> KafkaSourceBuilder<Either<DeadLetter, T>> sourceBuilder(
      KafkaOptions options, AvroRecordCodec<T> codec) {
    return sourceBuilder(options, codec, options.inputTopic());
  }

  /**
   * A source builder for another topic of the same cluster (e.g. model updates): like {@link
   * #sourceBuilder(KafkaOptions, AvroRecordCodec)}, with the topic given.
   */
  public static <T extends SpecificRecordBase> KafkaSourceBuilder<Either<DeadLetter, T>> sourceBuilder(
      KafkaOptions options, AvroRecordCodec<T> codec, String topic) {
    return KafkaSource.<Either<DeadLetter, T>>builder()
        .setBootstrapServers(options.bootstrapServers())
        .setTopics(topic)
        .setGroupId(options.groupId())
        .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
        .setProperties(options.consumerProperties())
        .setDeserializer(new DeadLetterRoutingDeserializer<>(codec));
  }

  /** Reads the input topic and splits it into decoded records and dead letters. */
  public static <T extends SpecificRecordBase> Decoded<T> read(
      StreamExecutionEnvironment env,
      KafkaSource<Either<DeadLetter, T>> source,
      WatermarkStrategy<Either<DeadLetter, T>> watermarks,
      String name) {
    // The source's type is EitherTypeInfo by construction (DeadLetterRoutingDeserializer).
    @SuppressWarnings("unchecked")
    EitherTypeInfo<DeadLetter, T> type = (EitherTypeInfo<DeadLetter, T>) source.getProducedType();
    SingleOutputStreamOperator<T> records =
        env.fromSource(source, watermarks, name)
            .uid(name + "-source")
            .process(new DeadLetterSplitter<>(), type.getRightType())
            .name(name + "-decode")
            .uid(name + "-decode");
    return new Decoded<>(records, records.getSideOutput(DeadLetterSplitter.DEAD_LETTERS));
  }

  /**
   * An exactly-once sink of Avro records to the output topic, keyed by {@code keyOf}. Its
   * transactional ids start with the configured prefix and {@code role}, which must differ between
   * the sinks of one job.
   */
  public static <T extends SpecificRecordBase> KafkaSink<T> recordSink(
      KafkaOptions options, AvroRecordCodec<T> codec, SerializableFunction<T, String> keyOf, String role) {
    return exactlyOnce(options, new AvroRecordSerializer<>(options.outputTopic(), codec, keyOf, options.recordTimestamp()), role);
  }

  /**
   * Writes records to the output topic exactly once, keyed by {@code keyOf}, encoding them first so
   * that one that cannot be encoded becomes a dead letter rather than a sink failure on every
   * restart. Returns those dead letters (usually none), for {@link #writeDeadLetters}.
   */
  public static <T extends SpecificRecordBase> DataStream<DeadLetter> write(
      DataStream<T> records, KafkaOptions options, AvroRecordCodec<T> codec,
      SerializableFunction<T, String> keyOf, String role) {
    SingleOutputStreamOperator<EncodedRecord> encoded =
        records
            .process(new RecordEncoder<>(codec, keyOf, options.outputTopic()), TypeInformation.of(EncodedRecord.class))
            .name(role + "-encode")
            .uid(role + "-encode");
    encoded
        .sinkTo(exactlyOnce(options, new EncodedRecordSerializer(options.outputTopic(), options.recordTimestamp()), role))
        .name(role + "-sink")
        .uid(role + "-sink");
    return encoded.getSideOutput(DeadLetterSplitter.DEAD_LETTERS);
  }

  /** An exactly-once sink of dead letters to the dead-letter topic. */
  public static KafkaSink<DeadLetter> deadLetterSink(KafkaOptions options) {
    return exactlyOnce(options, new DeadLetterSerializer(options.deadLetterTopic(), options.recordTimestamp()), "dead-letters");
  }

  /** Routes the dead letters to the dead-letter topic. */
  public static void writeDeadLetters(DataStream<DeadLetter> deadLetters, KafkaOptions options) {
    deadLetters.sinkTo(deadLetterSink(options)).name("dead-letter-sink").uid("dead-letter-sink");
  }

  static <T> KafkaSink<T> exactlyOnce(
      KafkaOptions options, KafkaRecordSerializationSchema<T> serializer, String role) {
    return KafkaSink.<T>builder()
        .setBootstrapServers(options.bootstrapServers())
        .setKafkaProducerConfig(options.producerProperties())
        .setRecordSerializer(serializer)
        .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
        .setTransactionalIdPrefix(options.transactionalIdPrefix() + "-" + role)
        .build();
  }

  /** The decoded records of a topic and the dead letters of those that could not be decoded. */
  public record Decoded<T>(SingleOutputStreamOperator<T> records, DataStream<DeadLetter> deadLetters) {}
}
