package io.flinkmamba.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.examples.cli.ModelUpdateCommand;
import io.flinkmamba.examples.demo.Demo;
import io.flinkmamba.examples.generator.LabelledEvent;
import io.flinkmamba.examples.generator.StreamGenerator;
import io.flinkmamba.examples.jobs.JobConfig;
import io.flinkmamba.examples.jobs.SensorAnomalyJob;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The sensor job with {@code --model-updates-topic} against a real Kafka broker on a MiniCluster
 * (parallelism 2, bounded): the updates topic holds an undecodable record, an update whose sha256
 * does not match and a valid one (the same weights under a new label). Every reading is scored exactly
 * once, in order; each key's scores carry the old label, then the new one, never back; the bad records
 * are dead letters: the undecodable one once, the refused one once per subtask, with the reason.
 * (When the switch happens relative to the readings is up to the two sources: the operator tests
 * check what happens at the switch.)
 */
class HotSwapKafkaTest {
  @RegisterExtension
  static final MiniClusterExtension FLINK = new MiniClusterExtension(
      new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

  @RegisterExtension
  static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

  @Test
  @Timeout(300)
  void updatesFromTheTopicSwitchTheLabelOnceAndBadOnesAreDeadLetters() throws Exception {
    String name = "hotswap";
    for (String t : List.of("-in", "-out")) {
      KAFKA.broker().createTopic(name + t, 3);
    }
    KAFKA.broker().createTopic(name + "-dlq", 1);
    KAFKA.broker().createTopic(name + "-models", 1);
    Path model = TestModels.sensor(null);
    Map<String, String> s = new HashMap<>();
    s.put("kafka.bootstrap-servers", KAFKA.broker().bootstrapServers());
    s.put("kafka.input-topic", name + "-in");
    s.put("kafka.output-topic", name + "-out");
    s.put("kafka.dead-letter-topic", name + "-dlq");
    s.put("kafka.group-id", name);
    s.put("kafka.transactional-id-prefix", name + "-" + UUID.randomUUID());
    s.put("model", model.toString());
    s.put("model-version", "v1");
    s.put("model-updates-topic", name + "-models");
    s.put("checkpoint-interval", "200ms");
    s.put("parallelism", "2");
    s.put("bounded", "true");

    AvroRecordCodec<io.flinkmamba.connectors.avro.SensorReading> codec =
        AvroRecordCodec.of(io.flinkmamba.connectors.avro.SensorReading.class);
    Map<String, List<LabelledEvent>> sent = new LinkedHashMap<>();
    try (KafkaProducer<byte[], byte[]> producer = KafkaTopics.producer(KAFKA.broker().bootstrapServers())) {
      io.flinkmamba.connectors.avro.ModelUpdate wrongSha = ModelUpdateCommand.record(model, "v-bad", "reset", null);
      wrongSha.setSha256("0".repeat(64));
      producer.send(new ProducerRecord<>(name + "-models", utf8("garbage"), utf8("{\"modelUri\": \"/x\"}")));
      producer.send(new ProducerRecord<>(name + "-models", utf8("v-bad"), ModelUpdateCommand.encode(wrongSha)));
      producer.send(new ProducerRecord<>(name + "-models", utf8("v2"),
          ModelUpdateCommand.encode(ModelUpdateCommand.record(model, "v2", "fail", null))));
      StreamGenerator generator = Demo.generator(6, 12);
      for (int i = 0; i < 6 * 200; i++) {
        LabelledEvent e = generator.next();
        sent.computeIfAbsent(e.key, k -> new ArrayList<>()).add(e);
        producer.send(new ProducerRecord<>(name + "-in", utf8(e.key), codec.encode(Demo.reading(e))));
      }
    }
    JobConfig config = JobConfig.fromMap(s, SensorAnomalyJob.DEFAULT_MODEL);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config.configuration());
    env.setParallelism(config.parallelism());
    SensorAnomalyJob.build(env, config);
    env.execute();

    AvroRecordCodec<AnomalyScore> scores = AvroRecordCodec.of(AnomalyScore.class);
    Map<String, List<AnomalyScore>> byKey = new LinkedHashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : KafkaTopics.readCommitted(KAFKA.broker().bootstrapServers(), name + "-out")) {
      AnomalyScore a = scores.decode(r.value());
      byKey.computeIfAbsent(a.getKey(), k -> new ArrayList<>()).add(a);
    }
    assertEquals(sent.keySet(), byKey.keySet());
    for (Map.Entry<String, List<LabelledEvent>> e : sent.entrySet()) {
      List<AnomalyScore> got = byKey.get(e.getKey());
      assertEquals(e.getValue().size(), got.size(), e.getKey() + ": one score per reading");
      boolean switched = false;
      for (int i = 0; i < got.size(); i++) {
        AnomalyScore a = got.get(i);
        assertEquals(e.getValue().get(i).timestamp, a.getEventTimeMillis(), "in order");
        assertEquals(i + 1, a.getEventsSeen(), "the same weights: no upgrade, the count goes on");
        switched |= a.getModelVersion().equals("v2");
        assertEquals(switched ? "v2" : "v1", a.getModelVersion(), e.getKey() + " #" + i + ": v1, then v2, never back");
      }
    }

    AvroRecordCodec<DeadLetter> letters = AvroRecordCodec.of(DeadLetter.class);
    List<String> reasons = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : KafkaTopics.readCommitted(KAFKA.broker().bootstrapServers(), name + "-dlq")) {
      DeadLetter d = letters.decode(r.value());
      assertEquals(name + "-models", d.getTopic());
      reasons.add(d.getReason());
    }
    assertEquals(3, reasons.size(), reasons.toString());
    assertEquals(1, reasons.stream().filter(r -> r.contains("not Avro single-object encoding")).count(), reasons.toString());
    for (int subtask = 0; subtask < 2; subtask++) {
      String prefix = "model update v-bad refused by subtask " + subtask;
      assertTrue(reasons.stream().anyMatch(r -> r.startsWith(prefix) && r.contains("sha256 mismatch")), reasons.toString());
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
