package io.flinkmamba.connectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.SensorReading;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaOptionsTest {
  private static final String JAAS =
      "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"scorer\" password=\"s3cret\";";

  private static Configuration securedConfiguration() {
    Configuration conf = new Configuration();
    conf.setString("kafka.bootstrap-servers", "broker-1:9093,broker-2:9093");
    conf.setString("kafka.input-topic", "readings");
    conf.setString("kafka.output-topic", "scores");
    conf.setString("kafka.dead-letter-topic", "readings-dlq");
    conf.setString("kafka.group-id", "scorer");
    conf.setString("kafka.transactional-id-prefix", "scorer-tx");
    conf.setString("kafka.properties.security.protocol", "SASL_SSL");
    conf.setString("kafka.properties.sasl.mechanism", "SCRAM-SHA-512");
    conf.setString("kafka.properties.sasl.jaas.config", JAAS);
    conf.setString("kafka.properties.ssl.truststore.location", "/etc/kafka/truststore.jks");
    conf.setString("other.setting", "not ours");
    return conf;
  }

  /** The built connectors keep their client settings in private fields; read them as Kafka will get them. */
  private static Object field(Object connector, String name) throws Exception {
    Field field = connector.getClass().getDeclaredField(name);
    field.setAccessible(true);
    return field.get(connector);
  }

  private static Properties properties(Object connector, String name) throws Exception {
    return (Properties) field(connector, name);
  }

  private static void assertSecurityPassedThrough(Properties client) {
    assertEquals("SASL_SSL", client.getProperty("security.protocol"));
    assertEquals("SCRAM-SHA-512", client.getProperty("sasl.mechanism"));
    assertEquals(JAAS, client.getProperty("sasl.jaas.config"));
    assertEquals("/etc/kafka/truststore.jks", client.getProperty("ssl.truststore.location"));
    assertEquals("broker-1:9093,broker-2:9093", client.getProperty("bootstrap.servers"));
  }

  @Test
  void builtSourceAndSinksCarryThePassThroughProperties() throws Exception {
    KafkaOptions options = KafkaOptions.fromConfiguration(securedConfiguration());
    assertEquals("readings", options.inputTopic());
    assertEquals("scores", options.outputTopic());
    assertEquals("readings-dlq", options.deadLetterTopic());

    KafkaSource<?> source = KafkaConnectors.sourceBuilder(options, AvroRecordCodec.of(SensorReading.class)).build();
    Properties consumer = properties(source, "props");
    assertSecurityPassedThrough(consumer);
    assertEquals("scorer", consumer.getProperty("group.id"));
    assertEquals("read_committed", consumer.getProperty("isolation.level"));

    KafkaSink<AnomalyScore> sink =
        KafkaConnectors.recordSink(options, AvroRecordCodec.of(AnomalyScore.class), AnomalyScore::getKey, "scores");
    assertSecurityPassedThrough(properties(sink, "kafkaProducerConfig"));
    assertEquals(DeliveryGuarantee.EXACTLY_ONCE, field(sink, "deliveryGuarantee"));
    assertEquals("scorer-tx-scores", field(sink, "transactionalIdPrefix"));

    KafkaSink<?> deadLetters = KafkaConnectors.deadLetterSink(options);
    assertSecurityPassedThrough(properties(deadLetters, "kafkaProducerConfig"));
    assertEquals(DeliveryGuarantee.EXACTLY_ONCE, field(deadLetters, "deliveryGuarantee"));
    assertEquals("scorer-tx-dead-letters", field(deadLetters, "transactionalIdPrefix"));
  }

  @Test
  void readsAPropertiesFileUnderAnyPrefix(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("job.properties");
    Files.writeString(file, String.join("\n",
        "scoring.kafka.bootstrap-servers = localhost:9092",
        "scoring.kafka.input-topic = trades",
        "scoring.kafka.properties.security.protocol = SSL",
        "scoring.kafka.properties.ssl.keystore.password = changeit",
        "scoring.kafka.properties.isolation.level = read_uncommitted",
        ""));
    KafkaOptions options = KafkaOptions.fromFile(file, "scoring.kafka.");
    assertEquals("localhost:9092", options.bootstrapServers());
    assertEquals("trades", options.inputTopic());
    assertEquals(Map.of("security.protocol", "SSL", "ssl.keystore.password", "changeit",
        "isolation.level", "read_uncommitted"), options.clientProperties());
    assertEquals("read_uncommitted", options.consumerProperties().getProperty("isolation.level"),
        "an explicit isolation level wins over the read_committed default");
    assertEquals("flink-mamba", options.transactionalIdPrefix());
  }

  @Test
  void missingBootstrapServersIsNamed() {
    Configuration conf = new Configuration();
    conf.setString("kafka.input-topic", "readings");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> KafkaOptions.fromConfiguration(conf));
    assertEquals("missing Kafka option kafka.bootstrap-servers", e.getMessage());
  }

  @Test
  void missingTopicIsNamedWhenNeeded() {
    Configuration conf = new Configuration();
    conf.setString("kafka.bootstrap-servers", "b:1");
    KafkaOptions options = KafkaOptions.fromConfiguration(conf);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, options::deadLetterTopic);
    assertEquals("missing Kafka option kafka.dead-letter-topic", e.getMessage());
  }

  @Test
  void settingsTheConnectorsOwnAreRefused() {
    Configuration conf = new Configuration();
    conf.setString("kafka.bootstrap-servers", "b:1");
    conf.setString("kafka.properties.bootstrap.servers", "other:1");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> KafkaOptions.fromConfiguration(conf));
    assertTrue(e.getMessage().contains("use kafka.bootstrap-servers"), e.getMessage());

    Configuration serializer = new Configuration();
    serializer.setString("kafka.bootstrap-servers", "b:1");
    serializer.setString("kafka.properties.value.serializer", "x.Y");
    assertThrows(IllegalArgumentException.class, () -> KafkaOptions.fromConfiguration(serializer));
  }

  @Test
  void misspelledOptionIsRefused() {
    Configuration conf = new Configuration();
    conf.setString("kafka.bootstrap-servers", "b:1");
    conf.setString("kafka.input_topic", "readings");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> KafkaOptions.fromConfiguration(conf));
    assertTrue(e.getMessage().startsWith("unknown Kafka option kafka.input_topic"), e.getMessage());
  }
}
