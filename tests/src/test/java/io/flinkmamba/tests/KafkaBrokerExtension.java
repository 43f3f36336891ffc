package io.flinkmamba.tests;

import io.flinkmamba.connectors.testing.LocalKafkaBroker;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Kafka broker ({@link LocalKafkaBroker}, a separate process) for one test class: started before the
 * class's {@code @BeforeAll} methods, stopped after its last test. Register it as a static field:
 * {@code @RegisterExtension static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();}
 */
final class KafkaBrokerExtension implements BeforeAllCallback, AfterAllCallback {
  private LocalKafkaBroker broker;

  @Override
  public void beforeAll(ExtensionContext context) {
    broker = LocalKafkaBroker.start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (broker != null) {
      broker.close();
      broker = null;
    }
  }

  /** The running broker; only between the class's first and last test. */
  LocalKafkaBroker broker() {
    if (broker == null) {
      throw new IllegalStateException("the Kafka broker runs only while its test class does");
    }
    return broker;
  }
}
