package io.flinkmamba.connectors.testing;

import java.nio.file.Path;

/**
 * The classpath of a standalone Kafka broker (kafka_2.13 and its dependencies), resolved by Maven
 * from a small pom shipped as a resource ({@link MavenClasspath}): the broker's kafka-clients differs
 * from the Flink connector's, and they must not meet on one classpath. A ready classpath can be given
 * with the system property {@code flinkmamba.kafka.classpath} or the environment variable
 * {@code FLINK_MAMBA_KAFKA_CLASSPATH}.
 */
public final class BrokerClasspath {
  static final String KAFKA_VERSION = "4.1.0";

  private BrokerClasspath() {}

  public static String resolve() {
    String given = System.getProperty("flinkmamba.kafka.classpath", System.getenv("FLINK_MAMBA_KAFKA_CLASSPATH"));
    return MavenClasspath.resolve("kafka-broker-" + KAFKA_VERSION, BrokerClasspath.class, "kafka-broker-pom.xml", given);
  }

  static String tail(Path file, int chars) {
    return MavenClasspath.tail(file, chars);
  }
}
