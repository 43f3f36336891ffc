package io.flinkmamba.connectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.connectors.avro.SensorReading;
import io.flinkmamba.connectors.testing.CommittedRecords;
import io.flinkmamba.connectors.testing.LocalKafkaBroker;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Future;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Either;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * End to end against a real Kafka broker (its own JVM) and a Flink MiniCluster: sensor readings over
 * several keys (one key's written by an old producer with schema version 1), mixed with undecodable
 * records, go through a job that decodes, scores (a stand-in; one score it makes cannot be encoded),
 * fails once after a checkpoint, and writes exactly-once to an output topic and a dead-letter topic.
 * Read with read_committed, the output holds every good input once, in order per key, and the
 * dead-letter topic every bad record with its reason and original bytes.
 */
class KafkaExactlyOnceTest {
  /** The last key's readings are written by an old producer, with schema version 1. */
  private static final int KEYS = 7;
  private static final int PER_KEY = 200;
  private static final String IN = "readings";
  private static final String OUT = "scores";
  private static final String DLQ = "readings-dlq";

  private static final Configuration CLUSTER = new Configuration();

  static {
    CLUSTER.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    CLUSTER.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
    CLUSTER.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
  }

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .setConfiguration(CLUSTER)
              .build());

  private static LocalKafkaBroker kafka;

  @BeforeAll
  static void startKafka() {
    kafka = LocalKafkaBroker.start();
    kafka.createTopic(IN, 3);
    kafka.createTopic(OUT, 3);
    kafka.createTopic(DLQ, 1);
  }

  @AfterAll
  static void stopKafka() {
    if (kafka == null) {
      return;
    }
    long pid = kafka.pid();
    Path dir = kafka.directory();
    kafka.close();
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "broker process stopped");
    assertFalse(Files.exists(dir), "broker directory removed");
  }

  /** A bad record as produced: its kind, the reason the dead letter must give, its bytes, and where it landed. */
  private record Bad(String kind, String reason, byte[] key, byte[] value, RecordMetadata[] landed) {}

  @Test
  @Timeout(300)
  void everyGoodInputOnceInOrderPerKeyAndEveryBadOneInTheDeadLetterTopic() throws Exception {
    Schema v1 = Records.testSchema("SensorReading-v1.avsc");
    AvroRecordCodec<SensorReading> codec = AvroRecordCodec.of(SensorReading.class).withOlderWriterSchema(v1);
    List<Bad> bad = produceInput(codec, v1);

    Configuration job = new Configuration(CLUSTER);
    job.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(200));
    // Barriers overtake the buffered backlog, so checkpoints complete while records still flow.
    job.set(CheckpointingOptions.ENABLE_UNALIGNED, true);
    job.setString("kafka.bootstrap-servers", kafka.bootstrapServers());
    job.setString("kafka.input-topic", IN);
    job.setString("kafka.output-topic", OUT);
    job.setString("kafka.dead-letter-topic", DLQ);
    job.setString("kafka.group-id", "scorer-test");
    job.setString("kafka.transactional-id-prefix", "scorer-test-" + UUID.randomUUID());
    job.setString("kafka.properties.client.dns.lookup", "use_all_dns_ips"); // a pass-through setting
    KafkaOptions options = KafkaOptions.fromConfiguration(job);

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(job);
    env.setParallelism(2);
    KafkaSource<Either<DeadLetter, SensorReading>> source =
        KafkaConnectors.sourceBuilder(options, codec).setBounded(OffsetsInitializer.latest()).build();
    KafkaConnectors.Decoded<SensorReading> decoded =
        KafkaConnectors.read(env, source, WatermarkStrategy.noWatermarks(), "readings");
    DataStream<AnomalyScore> scores =
        decoded.records().keyBy(SensorReading::getStreamId, Types.STRING).map(new ScoringStandIn()).name("score");
    DataStream<DeadLetter> unencodable =
        KafkaConnectors.write(scores, options, AvroRecordCodec.of(AnomalyScore.class), AnomalyScore::getKey, "scores");
    KafkaConnectors.writeDeadLetters(decoded.deadLetters().union(unencodable), options);

    ScoringStandIn.FAILED.set(false);
    long started = System.currentTimeMillis();
    env.execute("kafka exactly-once test");
    assertTrue(ScoringStandIn.FAILED.get(), "the job failed once and recovered");

    List<ConsumerRecord<byte[], byte[]>> written = readCommitted(OUT), deadLetters = readCommitted(DLQ);
    assertScoresExactlyOnceInOrder(written);
    assertDeadLetters(bad, deadLetters);
    // Written with the write time, not the Flink records' timestamps (here the inputs' Kafka times,
    // from before the job started): a score stamped with an event time older than the topic's
    // retention is deleted by the broker after its commit (issue 6; RecordTimestampTest).
    for (ConsumerRecord<byte[], byte[]> record : concat(written, deadLetters)) {
      assertTrue(record.timestamp() >= started, "stamped with the write time: " + record);
    }
  }

  /**
   * Issue 6's mechanism, on its own: a broker deletes records whose timestamps lie beyond the topic's
   * retention (7 days), committed or not; the test broker within about a second. A reader of "all
   * that was committed" must then refuse, not return the rest as if it were everything.
   */
  @Test
  @Timeout(120)
  void recordsStampedBeyondTheRetentionAreDeletedAndTheReaderRefusesTheTopic() throws Exception {
    String topic = "stamped-in-2023";
    kafka.createTopic(topic, 1);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
      for (int i = 0; i < 3; i++) {
        producer.send(new ProducerRecord<>(topic, 0, time(i), utf8("k"), utf8("v" + i))).get();
      }
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    IllegalStateException refused = null;
    while (refused == null && System.nanoTime() < deadline) {
      try {
        CommittedRecords.readAll(kafka.bootstrapServers(), topic);
        Thread.sleep(200);
      } catch (IllegalStateException e) {
        refused = e;
      }
    }
    assertNotNull(refused, "records stamped in 2023 deleted by the broker's retention, and the reader says so");
    assertTrue(refused.getMessage().contains("deleted from the start of topic " + topic), refused.getMessage());
  }

  private static List<Bad> produceInput(AvroRecordCodec<SensorReading> codec, Schema v1) throws Exception {
    List<Bad> bad = new ArrayList<>();
    BinaryMessageEncoder<GenericRecord> oldProducer = new BinaryMessageEncoder<>(GenericData.get(), v1);
    byte[] good = codec.encode(Records.reading("x", 1L, 1.0));
    Map<String, Object> config = Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
        ProducerConfig.ACKS_CONFIG, "all");
    List<Future<RecordMetadata>> pending = new ArrayList<>();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config)) {
      for (int t = 0; t < PER_KEY; t++) {
        for (int k = 0; k < KEYS; k++) {
          SensorReading reading = Records.reading(key(k), time(t), k, t, 0.5 * k * t);
          byte[] value = k == KEYS - 1 ? asVersion1(reading, v1, oldProducer) : codec.encode(reading);
          pending.add(producer.send(new ProducerRecord<>(IN, utf8(key(k)), value)));
        }
        if (t == 40 || t == 160) {
          bad.add(new Bad("garbage", "not Avro single-object encoding", utf8("bad-garbage-" + t),
              ("{\"streamId\":\"json-by-mistake\",\"t\":" + t + "}").getBytes(StandardCharsets.UTF_8), new RecordMetadata[1]));
          bad.add(new Bad("truncated", "truncated", utf8("bad-truncated-" + t),
              Arrays.copyOf(good, good.length - 4), new RecordMetadata[1]));
          bad.add(new Bad("wrong-type", "written as io.flinkmamba.connectors.avro.TradeTick",
              utf8("bad-wrong-type-" + t),
              AvroRecordCodec.of(io.flinkmamba.connectors.avro.TradeTick.class).encode(Records.trade("ACME", t, 1, 1)),
              new RecordMetadata[1]));
          byte[] unknown = good.clone();
          unknown[9] ^= 0x11;
          bad.add(new Bad("unknown-schema", "unknown writer schema fingerprint", utf8("bad-unknown-" + t), unknown,
              new RecordMetadata[1]));
          bad.add(new Bad("huge-array", "collection block", utf8("bad-huge-" + t), hugeArray(good), new RecordMetadata[1]));
          bad.add(new Bad("tombstone", "no value", utf8("bad-tombstone-" + t), null, new RecordMetadata[1]));
          for (Bad b : bad.subList(bad.size() - 6, bad.size())) {
            RecordMetadata[] slot = b.landed();
            producer.send(new ProducerRecord<>(IN, b.key(), b.value()), (metadata, e) -> slot[0] = metadata);
          }
        }
      }
      producer.flush();
    }
    for (Future<RecordMetadata> f : pending) {
      f.get();
    }
    for (Bad b : bad) {
      assertNotNull(b.landed()[0], "bad record " + b.kind() + " was produced");
    }
    return bad;
  }

  private static byte[] asVersion1(SensorReading reading, Schema v1, BinaryMessageEncoder<GenericRecord> encoder)
      throws Exception {
    Schema measurementSchema = v1.getField("measurements").schema().getElementType();
    List<GenericRecord> measurements = new ArrayList<>();
    for (var m : reading.getMeasurements()) {
      GenericRecord measurement = new GenericData.Record(measurementSchema);
      measurement.put("name", m.getName());
      measurement.put("value", m.getValue());
      measurements.add(measurement);
    }
    GenericRecord old = new GenericData.Record(v1);
    old.put("streamId", reading.getStreamId());
    old.put("eventTimeMillis", reading.getEventTimeMillis());
    old.put("measurements", measurements);
    ByteBuffer bytes = encoder.encode(old);
    return Arrays.copyOfRange(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.arrayOffset() + bytes.limit());
  }

  private static byte[] hugeArray(byte[] good) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(good, 0, AvroRecordCodec.HEADER_BYTES);
    BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(out, null);
    e.writeString("s");
    e.writeLong(1L);
    e.writeLong(1_500_000_000L);
    e.flush();
    return out.toByteArray();
  }

  private static String key(int k) {
    return "sensor-" + k;
  }

  private static long time(int t) {
    return 1_700_000_000_000L + 1000L * t;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static List<ConsumerRecord<byte[], byte[]>> concat(
      List<ConsumerRecord<byte[], byte[]>> a, List<ConsumerRecord<byte[], byte[]>> b) {
    List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  /** Everything committed to the topic, partition by partition, in offset order (the job has ended). */
  private static List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic) {
    return CommittedRecords.readAll(kafka.bootstrapServers(), topic);
  }

  private static void assertScoresExactlyOnceInOrder(List<ConsumerRecord<byte[], byte[]>> records) throws Exception {
    AvroRecordCodec<AnomalyScore> codec = AvroRecordCodec.of(AnomalyScore.class);
    Map<String, List<Long>> timesByKey = new LinkedHashMap<>();
    Map<String, Integer> partitionOfKey = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      AnomalyScore score = codec.decode(record.value());
      assertEquals(score.getKey(), new String(record.key(), StandardCharsets.UTF_8), "record key is the stream key");
      Integer earlier = partitionOfKey.putIfAbsent(score.getKey(), record.partition());
      assertEquals(earlier == null ? record.partition() : earlier, record.partition(), "one partition per key");
      int t = (int) ((score.getEventTimeMillis() - time(0)) / 1000);
      int k = Integer.parseInt(score.getKey().substring("sensor-".length()));
      assertEquals(k + t + 0.5 * k * t, score.getScore(), 1e-9, "score of " + score.getKey() + " at " + t);
      assertEquals(List.of((float) k, (float) t, (float) (0.5 * k * t)), score.getInput());
      timesByKey.computeIfAbsent(score.getKey(), x -> new ArrayList<>()).add(score.getEventTimeMillis());
    }
    List<Long> allTimes = new ArrayList<>();
    for (int t = 0; t < PER_KEY; t++) {
      allTimes.add(time(t));
    }
    assertEquals(KEYS, timesByKey.size(), "every key has output");
    for (int k = 0; k < KEYS; k++) {
      // Equal lists: nothing lost, nothing twice, in the order it was produced (but the score that
      // could not be encoded, which is a dead letter).
      List<Long> expected = new ArrayList<>(allTimes);
      if (key(k).equals(ScoringStandIn.UNENCODABLE_KEY)) {
        expected.remove(Long.valueOf(ScoringStandIn.UNENCODABLE_TIME));
      }
      List<Long> actual = timesByKey.get(key(k));
      if (!expected.equals(actual)) {
        fail(key(k) + ": " + actual.size() + " scores for " + PER_KEY + " inputs; "
            + "inputs scored twice: " + actual.stream().filter(t -> actual.indexOf(t) != actual.lastIndexOf(t)).distinct().count()
            + ", never scored: " + expected.stream().filter(t -> !actual.contains(t)).count()
            + ", first difference at position " + firstDifference(expected, actual));
      }
    }
    assertEquals(KEYS * PER_KEY - 1, records.size());
  }

  private static int firstDifference(List<Long> expected, List<Long> actual) {
    int i = 0;
    while (i < expected.size() && i < actual.size() && expected.get(i).equals(actual.get(i))) {
      i++;
    }
    return i;
  }

  private static void assertDeadLetters(List<Bad> bad, List<ConsumerRecord<byte[], byte[]>> records) throws Exception {
    AvroRecordCodec<DeadLetter> codec = AvroRecordCodec.of(DeadLetter.class);
    Map<String, DeadLetter> byOrigin = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      DeadLetter letter = codec.decode(record.value());
      DeadLetter twice = byOrigin.put(letter.getPartition() + "@" + letter.getOffset(), letter);
      assertEquals(null, twice, "dead letter written once: " + letter);
      assertArrayEquals(bytes(letter.getKey()), record.key(), "dead-letter record keeps the original key");
      assertEquals(letter.getReason(),
          new String(record.headers().lastHeader(DeadLetterSerializer.REASON_HEADER).value(), StandardCharsets.UTF_8));
    }
    assertEquals(bad.size() + 1, records.size(), "one dead letter per bad record, and the unencodable score");
    DeadLetter unencodable = byOrigin.get("-1@-1");
    assertNotNull(unencodable, "the score that could not be encoded is a dead letter");
    assertEquals(OUT, unencodable.getTopic());
    assertTrue(unencodable.getReason().startsWith("cannot encode AnomalyScore for " + OUT), unencodable.getReason());
    assertArrayEquals(utf8(ScoringStandIn.UNENCODABLE_KEY), bytes(unencodable.getKey()));
    for (Bad b : bad) {
      RecordMetadata at = b.landed()[0];
      DeadLetter letter = byOrigin.get(at.partition() + "@" + at.offset());
      assertNotNull(letter, b.kind() + " at " + at + " is in the dead-letter topic");
      assertEquals(IN, letter.getTopic());
      assertEquals(at.timestamp(), letter.getTimestamp());
      assertTrue(letter.getReason().contains(b.reason()), b.kind() + ": " + letter.getReason());
      assertArrayEquals(b.key(), bytes(letter.getKey()), b.kind() + " original key");
      assertArrayEquals(b.value(), bytes(letter.getValue()), b.kind() + " original value");
    }
  }

  private static byte[] bytes(ByteBuffer buffer) {
    if (buffer == null) {
      return null;
    }
    ByteBuffer view = buffer.duplicate();
    byte[] bytes = new byte[view.remaining()];
    view.get(bytes);
    return bytes;
  }
}
