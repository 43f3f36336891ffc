package io.flinkmamba.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.connectors.avro.Measurement;
import io.flinkmamba.connectors.avro.SensorReading;
import io.flinkmamba.connectors.avro.TradeTick;
import io.flinkmamba.examples.demo.Demo;
import io.flinkmamba.examples.generator.LabelledEvent;
import io.flinkmamba.examples.generator.StreamGenerator;
import io.flinkmamba.examples.jobs.JobConfig;
import io.flinkmamba.examples.jobs.SensorAnomalyJob;
import io.flinkmamba.examples.jobs.TradeAnomalyJob;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BiConsumer;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The anomaly jobs end to end against a real Kafka broker (its own JVM) on a Flink MiniCluster
 * (parallelism 2, checkpoints every 200 ms, exactly-once sinks): a labelled stream plus malformed
 * and unscorable records in; read back with read_committed, every valid input scored exactly once,
 * in order per key, and every bad record in the dead-letter topic with its reason.
 */
class AnomalyJobsKafkaTest {
  @RegisterExtension
  static final MiniClusterExtension FLINK = new MiniClusterExtension(
      new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

  @RegisterExtension
  static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

  @TempDir static Path scratch;

  private static Map<String, String> jobSettings(String name, Path model) {
    KAFKA.broker().createTopic(name + "-in", 3);
    KAFKA.broker().createTopic(name + "-out", 3);
    KAFKA.broker().createTopic(name + "-dlq", 1);
    Map<String, String> s = new HashMap<>();
    s.put("kafka.bootstrap-servers", KAFKA.broker().bootstrapServers());
    s.put("kafka.input-topic", name + "-in");
    s.put("kafka.output-topic", name + "-out");
    s.put("kafka.dead-letter-topic", name + "-dlq");
    s.put("kafka.group-id", name);
    s.put("kafka.transactional-id-prefix", name + "-" + UUID.randomUUID());
    s.put("model", model.toString());
    s.put("checkpoint-interval", "200ms");
    s.put("out-of-orderness", "1s");
    s.put("parallelism", "2");
    s.put("bounded", "true");
    return s;
  }

  private static void run(JobConfig config, BiConsumer<StreamExecutionEnvironment, JobConfig> job) throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config.configuration());
    env.setParallelism(config.parallelism());
    job.accept(env, config);
    env.execute();
  }

  @Test
  @Timeout(300)
  void sensorJobScoresEveryValidReadingOnceInOrderAndDeadLettersTheRest() throws Exception {
    Map<String, String> settings = jobSettings("sensors", TestModels.sensor(scratch));
    settings.put("mode", "micro-batch");
    AvroRecordCodec<SensorReading> codec = AvroRecordCodec.of(SensorReading.class);
    Map<String, List<LabelledEvent>> sent = new LinkedHashMap<>();
    Map<String, String> badReasons = new LinkedHashMap<>(); // key -> expected reason fragment
    try (KafkaProducer<byte[], byte[]> producer = KafkaTopics.producer(KAFKA.broker().bootstrapServers())) {
      StreamGenerator generator = Demo.generator(6, 11);
      for (int i = 0; i < 6 * 150; i++) {
        LabelledEvent e = generator.next();
        sent.computeIfAbsent(e.key, k -> new ArrayList<>()).add(e);
        producer.send(new ProducerRecord<>("sensors-in", utf8(e.key), codec.encode(Demo.reading(e))));
        if (i == 300) {
          byte[] good = codec.encode(Demo.reading(e));
          send(producer, "sensors-in", "bad-garbage", "{\"json\": true}".getBytes(StandardCharsets.UTF_8));
          send(producer, "sensors-in", "bad-truncated", Arrays.copyOf(good, good.length - 3));
          send(producer, "sensors-in", "bad-tombstone", null);
          send(producer, "sensors-in", "bad-trade",
              AvroRecordCodec.of(TradeTick.class).encode(new TradeTick("X", 1L, 1.0, 1.0, null)));
          send(producer, "sensors-in", "bad-nan", codec.encode(reading("bad-nan", e.timestamp, 1.0, Double.NaN, 2.0)));
          send(producer, "sensors-in", "bad-two-channels", codec.encode(reading("bad-two-channels", e.timestamp, 1.0, 2.0)));
          badReasons.put("bad-garbage", "not Avro single-object encoding");
          badReasons.put("bad-truncated", "truncated");
          badReasons.put("bad-tombstone", "no value");
          badReasons.put("bad-trade", "wrong record type");
          badReasons.put("bad-nan", "rejected by the scorer");
          badReasons.put("bad-two-channels", "rejected by the scorer");
        }
      }
    }
    run(JobConfig.fromMap(settings, SensorAnomalyJob.DEFAULT_MODEL), SensorAnomalyJob::build);

    Map<String, List<AnomalyScore>> scores = scoresByKey(KafkaTopics.readCommitted(KAFKA.broker().bootstrapServers(), "sensors-out"));
    assertEquals(sent.keySet(), scores.keySet(), "every key scored, no bad record scored");
    for (Map.Entry<String, List<LabelledEvent>> e : sent.entrySet()) {
      List<AnomalyScore> got = scores.get(e.getKey());
      assertEquals(e.getValue().size(), got.size(), e.getKey() + ": one score per reading");
      for (int i = 0; i < got.size(); i++) {
        LabelledEvent in = e.getValue().get(i);
        AnomalyScore s = got.get(i);
        assertEquals(in.timestamp, s.getEventTimeMillis(), e.getKey() + " #" + i + " in order");
        assertEquals(floats(in.values), s.getInput(), e.getKey() + " #" + i + " input");
        assertEquals(i + 1, s.getEventsSeen(), e.getKey() + " #" + i + " events seen");
        assertEquals(3, s.getForecast().size());
        assertTrue(s.getAnomalyLikelihood() >= 0 && s.getAnomalyLikelihood() <= 1);
      }
    }
    assertDeadLetters("sensors-dlq", "sensors-in", badReasons);
  }

  @Test
  @Timeout(300)
  void tradeJobScoresLogReturnAndLogSizePerSymbol() throws Exception {
    Map<String, String> settings = jobSettings("trades", TestModels.trade(scratch));
    AvroRecordCodec<TradeTick> codec = AvroRecordCodec.of(TradeTick.class);
    Map<String, List<TradeTick>> sent = new LinkedHashMap<>();
    try (KafkaProducer<byte[], byte[]> producer = KafkaTopics.producer(KAFKA.broker().bootstrapServers())) {
      StreamGenerator generator = new StreamGenerator(StreamGenerator.Family.TRADE, 4, 2, 100, 5);
      while (generator.hasNext()) {
        LabelledEvent e = generator.next();
        TradeTick tick = new TradeTick(e.key, e.timestamp, (double) e.values[0], (double) e.values[1], null);
        sent.computeIfAbsent(e.key, k -> new ArrayList<>()).add(tick);
        producer.send(new ProducerRecord<>("trades-in", utf8(e.key), codec.encode(tick)));
      }
      send(producer, "trades-in", "SYM0", codec.encode(new TradeTick("SYM0", 1_700_000_500_000L, 0.0, 10.0, null)));
      send(producer, "trades-in", "bad-garbage", new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    }
    run(JobConfig.fromMap(settings, TradeAnomalyJob.DEFAULT_MODEL), TradeAnomalyJob::build);

    Map<String, List<AnomalyScore>> scores = scoresByKey(KafkaTopics.readCommitted(KAFKA.broker().bootstrapServers(), "trades-out"));
    assertEquals(sent.keySet(), scores.keySet());
    for (Map.Entry<String, List<TradeTick>> e : sent.entrySet()) {
      List<AnomalyScore> got = scores.get(e.getKey());
      List<TradeTick> ticks = e.getValue();
      assertEquals(ticks.size(), got.size(), e.getKey() + ": one score per valid tick");
      assertEquals(List.of(0.0f, (float) Math.log(ticks.get(0).getSize())), got.get(0).getInput(), "first tick: return 0");
      assertTrue(got.get(0).getWarmingUp());
      for (int i = 1; i < ticks.size(); i++) {
        double r = Math.log(ticks.get(i).getPrice() / ticks.get(i - 1).getPrice());
        assertEquals(ticks.get(i).getEventTimeMillis(), got.get(i).getEventTimeMillis(), "in order");
        assertEquals((float) r, got.get(i).getInput().get(0), 1e-7f, e.getKey() + " #" + i + " log return");
        assertEquals((float) Math.log(ticks.get(i).getSize()), got.get(i).getInput().get(1), 1e-6f);
      }
    }
    Map<String, String> bad = new LinkedHashMap<>();
    bad.put("SYM0", "price and size must be finite and > 0");
    bad.put("bad-garbage", "not Avro single-object encoding");
    assertDeadLetters("trades-dlq", "trades-in", bad);
  }

  private static Map<String, List<AnomalyScore>> scoresByKey(List<ConsumerRecord<byte[], byte[]>> records) throws Exception {
    AvroRecordCodec<AnomalyScore> codec = AvroRecordCodec.of(AnomalyScore.class);
    Map<String, List<AnomalyScore>> byKey = new LinkedHashMap<>();
    Map<String, Integer> partitionOfKey = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      AnomalyScore s = codec.decode(record.value());
      assertEquals(s.getKey(), new String(record.key(), StandardCharsets.UTF_8), "record key is the stream key");
      assertEquals(partitionOfKey.computeIfAbsent(s.getKey(), k -> record.partition()), record.partition(), "one partition per key");
      byKey.computeIfAbsent(s.getKey(), k -> new ArrayList<>()).add(s); // offset order within the key's partition
    }
    return byKey;
  }

  private static void assertDeadLetters(String topic, String inputTopic, Map<String, String> expected) throws Exception {
    AvroRecordCodec<DeadLetter> codec = AvroRecordCodec.of(DeadLetter.class);
    Map<String, DeadLetter> byKey = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : KafkaTopics.readCommitted(KAFKA.broker().bootstrapServers(), topic)) {
      DeadLetter letter = codec.decode(r.value());
      String key = new String(r.key(), StandardCharsets.UTF_8);
      assertFalse(byKey.containsKey(key), "one dead letter per bad record: " + key);
      byKey.put(key, letter);
    }
    assertEquals(expected.keySet(), byKey.keySet(), "the bad records, and only those, are dead letters");
    expected.forEach((key, reason) -> {
      DeadLetter letter = byKey.get(key);
      assertNotNull(letter);
      assertEquals(inputTopic, letter.getTopic());
      assertTrue(letter.getReason().contains(reason), key + ": " + letter.getReason());
    });
  }

  private static SensorReading reading(String key, long time, double... values) {
    List<Measurement> m = new ArrayList<>();
    for (int i = 0; i < values.length; i++) {
      m.add(new Measurement("v" + i, values[i]));
    }
    return SensorReading.newBuilder().setStreamId(key).setEventTimeMillis(time).setMeasurements(m).build();
  }

  private static void send(KafkaProducer<byte[], byte[]> producer, String topic, String key, byte[] value) {
    producer.send(new ProducerRecord<>(topic, utf8(key), value));
  }

  private static List<Float> floats(float[] values) {
    List<Float> list = new ArrayList<>();
    for (float v : values) {
      list.add(v);
    }
    return list;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
