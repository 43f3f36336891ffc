package io.flinkmamba.connectors;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.flink.configuration.Configuration;

/**
 * Where a job's Kafka records come from and go to, read from a Flink {@link Configuration} or a
 * properties file under a prefix (default {@code kafka.}), e.g.
 *
 * <pre>
 * kafka.bootstrap-servers = broker:9093
 * kafka.input-topic = sensor-readings
 * kafka.output-topic = anomaly-scores
 * kafka.dead-letter-topic = sensor-readings-dlq
 * kafka.group-id = anomaly-scorer
 * kafka.transactional-id-prefix = anomaly-scorer
 * kafka.record-timestamp = write-time
 * kafka.properties.security.protocol = SASL_SSL
 * kafka.properties.sasl.mechanism = SCRAM-SHA-512
 * kafka.properties.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required ...;
 * </pre>
 *
 * As in Flink's SQL Kafka connector, every {@code properties.*} key goes, without that prefix, to
 * the Kafka clients of the source and of both sinks: that is how SASL/SSL settings reach them.
 */
public final class KafkaOptions implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final String DEFAULT_PREFIX = "kafka.";
  public static final String BOOTSTRAP_SERVERS = "bootstrap-servers";
  public static final String INPUT_TOPIC = "input-topic";
  public static final String OUTPUT_TOPIC = "output-topic";
  public static final String DEAD_LETTER_TOPIC = "dead-letter-topic";
  public static final String GROUP_ID = "group-id";
  public static final String TRANSACTIONAL_ID_PREFIX = "transactional-id-prefix";
  /** {@code write-time} (default) or {@code event-time}: see {@link RecordTimestamp}. */
  public static final String RECORD_TIMESTAMP = "record-timestamp";
  public static final String PROPERTIES = "properties.";
  /** The broker's default transaction.max.timeout.ms. */
  public static final long DEFAULT_TRANSACTION_TIMEOUT_MS = 15 * 60 * 1000;
  private static final Set<String> KNOWN =
      Set.of(BOOTSTRAP_SERVERS, INPUT_TOPIC, OUTPUT_TOPIC, DEAD_LETTER_TOPIC, GROUP_ID, TRANSACTIONAL_ID_PREFIX,
          RECORD_TIMESTAMP);

  /** Client settings the connectors set themselves; a pass-through value would be ignored or break them. */
  private static final Map<String, String> OWNED =
      Map.of(
          "bootstrap.servers", BOOTSTRAP_SERVERS,
          "group.id", GROUP_ID,
          "transactional.id", TRANSACTIONAL_ID_PREFIX,
          "key.serializer", "",
          "value.serializer", "",
          "key.deserializer", "",
          "value.deserializer", "");

  private final String prefix;
  private final String bootstrapServers;
  private final String inputTopic;
  private final String outputTopic;
  private final String deadLetterTopic;
  private final String groupId;
  private final String transactionalIdPrefix;
  private final RecordTimestamp recordTimestamp;
  private final Map<String, String> clientProperties;

  private KafkaOptions(String prefix, Map<String, String> values, Map<String, String> clientProperties) {
    this.prefix = prefix;
    this.bootstrapServers = values.get(BOOTSTRAP_SERVERS);
    this.inputTopic = values.get(INPUT_TOPIC);
    this.outputTopic = values.get(OUTPUT_TOPIC);
    this.deadLetterTopic = values.get(DEAD_LETTER_TOPIC);
    this.groupId = values.get(GROUP_ID);
    this.transactionalIdPrefix = values.getOrDefault(TRANSACTIONAL_ID_PREFIX, "flink-mamba");
    this.recordTimestamp = values.containsKey(RECORD_TIMESTAMP)
        ? RecordTimestamp.parse(values.get(RECORD_TIMESTAMP)) : RecordTimestamp.WRITE_TIME;
    this.clientProperties = clientProperties;
    require(bootstrapServers, BOOTSTRAP_SERVERS);
  }

  public static KafkaOptions fromConfiguration(Configuration configuration) {
    return fromConfiguration(configuration, DEFAULT_PREFIX);
  }

  public static KafkaOptions fromConfiguration(Configuration configuration, String prefix) {
    return fromMap(configuration.toMap(), prefix);
  }

  public static KafkaOptions fromProperties(Properties properties, String prefix) {
    Map<String, String> map = new TreeMap<>();
    properties.stringPropertyNames().forEach(name -> map.put(name, properties.getProperty(name)));
    return fromMap(map, prefix);
  }

  /** Reads a Java properties file (the same keys as a Flink configuration). */
  public static KafkaOptions fromFile(Path file, String prefix) throws IOException {
    Properties properties = new Properties();
    try (Reader reader = Files.newBufferedReader(file)) {
      properties.load(reader);
    }
    return fromProperties(properties, prefix);
  }

  public static KafkaOptions fromMap(Map<String, String> settings, String prefix) {
    Map<String, String> values = new TreeMap<>();
    Map<String, String> client = new TreeMap<>();
    for (Map.Entry<String, String> entry : settings.entrySet()) {
      if (!entry.getKey().startsWith(prefix)) {
        continue;
      }
      String key = entry.getKey().substring(prefix.length());
      String value = entry.getValue().trim();
      if (key.startsWith(PROPERTIES)) {
        String clientKey = key.substring(PROPERTIES.length());
        if (OWNED.containsKey(clientKey)) {
          String instead = OWNED.get(clientKey);
          throw new IllegalArgumentException(
              prefix + key + " is set by the connectors themselves"
                  + (instead.isEmpty() ? "" : "; use " + prefix + instead));
        }
        client.put(clientKey, entry.getValue());
      } else if (KNOWN.contains(key)) {
        values.put(key, value);
      } else {
        throw new IllegalArgumentException(
            "unknown Kafka option " + prefix + key + "; known: " + new TreeSet<>(KNOWN)
                + " and " + PROPERTIES + "<any Kafka client setting>, each after " + prefix);
      }
    }
    return new KafkaOptions(prefix, values, Map.copyOf(client));
  }

  private String require(String value, String key) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException("missing Kafka option " + prefix + key);
    }
    return value;
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public String inputTopic() {
    return require(inputTopic, INPUT_TOPIC);
  }

  public String outputTopic() {
    return require(outputTopic, OUTPUT_TOPIC);
  }

  public String deadLetterTopic() {
    return require(deadLetterTopic, DEAD_LETTER_TOPIC);
  }

  public String groupId() {
    return require(groupId, GROUP_ID);
  }

  public String transactionalIdPrefix() {
    return transactionalIdPrefix;
  }

  /** The timestamp the sinks give their Kafka records: the write time unless {@code record-timestamp = event-time}. */
  public RecordTimestamp recordTimestamp() {
    return recordTimestamp;
  }

  /** The pass-through client settings ({@code properties.*} without that prefix). */
  public Map<String, String> clientProperties() {
    return clientProperties;
  }

  /**
   * Settings for the source's consumer: the pass-through ones, reading only committed records
   * unless {@code properties.isolation.level} says otherwise (an upstream exactly-once job's aborted
   * transactions must not be read).
   */
  public Properties consumerProperties() {
    Properties properties = new Properties();
    properties.setProperty("isolation.level", "read_committed");
    properties.putAll(clientProperties);
    return properties;
  }

  /**
   * Settings for the sinks' producers: the pass-through ones, with a transaction timeout of 15
   * minutes unless {@code properties.transaction.timeout.ms} says otherwise. Flink's Kafka sink
   * would ask for one hour, which a broker with the default {@code transaction.max.timeout.ms} (15
   * minutes) refuses: the job could not start. Keep it above the longest checkpoint plus recovery.
   */
  public Properties producerProperties() {
    Properties properties = new Properties();
    properties.setProperty("transaction.timeout.ms", String.valueOf(DEFAULT_TRANSACTION_TIMEOUT_MS));
    properties.putAll(clientProperties);
    return properties;
  }
}
