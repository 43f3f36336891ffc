package io.flinkmamba.connectors.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;

/**
 * A real single-node Kafka broker (KRaft: broker and controller in one) on loopback, in its own JVM
 * process, for tests and the demo; needs only Java and Maven. Free ports are picked at start, each
 * broker gets its own log directory (removed on close), and the process is stopped by its handle on
 * {@link #close()} or, failing that, by a JVM shutdown hook.
 *
 * <pre>
 * try (LocalKafkaBroker kafka = LocalKafkaBroker.start()) {
 *   kafka.createTopic("in", 3);
 *   ... kafka.bootstrapServers() ...
 * }
 * </pre>
 *
 * Run as a program it starts a broker, prints {@code KAFKA_BOOTSTRAP_SERVERS=host:port} and keeps
 * it up until the program is stopped.
 */
public final class LocalKafkaBroker implements AutoCloseable {
  private static final long START_TIMEOUT_MS = 90_000;

  private final Process process;
  private final Path dir;
  private final int port;
  private final Thread shutdownHook;

  private LocalKafkaBroker(Process process, Path dir, int port) {
    this.process = process;
    this.dir = dir;
    this.port = port;
    this.shutdownHook = new Thread(this::stopProcess, "stop-local-kafka-broker");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts a broker and returns once it accepts connections. */
  public static LocalKafkaBroker start() {
    String classpath = BrokerClasspath.resolve();
    try {
      return startOnce(classpath);
    } catch (IllegalStateException e) {
      // A free port can be taken by someone else before the broker binds it: one more try, new ports.
      if (e.getMessage() != null && e.getMessage().contains("Address already in use")) {
        return startOnce(classpath);
      }
      throw e;
    }
  }

  private static LocalKafkaBroker startOnce(String classpath) {
    Path dir;
    try {
      dir = Files.createTempDirectory("flink-mamba-kafka-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the broker's directory", e);
    }
    try {
      int port = freePort();
      int controllerPort = freePort();
      Path config = writeConfig(dir, port, controllerPort);
      Path log = dir.resolve("broker.log");
      runToCompletion(
          javaCommand(classpath, dir, "kafka.tools.StorageTool", "format",
              "-t", Uuid.randomUuid().toString(), "-c", config.toString(), "--standalone"),
          dir.resolve("format.log"));
      Process process =
          new ProcessBuilder(javaCommand(classpath, dir, "kafka.Kafka", config.toString()))
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      LocalKafkaBroker broker = new LocalKafkaBroker(process, dir, port);
      try {
        broker.awaitListening(log);
      } catch (RuntimeException e) {
        broker.close();
        throw e;
      }
      return broker;
    } catch (IOException e) {
      deleteRecursively(dir);
      throw new UncheckedIOException("cannot start a local Kafka broker", e);
    }
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  /** The broker's directory: its data, {@code server.properties} and {@code broker.log}. */
  public Path directory() {
    return dir;
  }

  public long pid() {
    return process.pid();
  }

  /** Creates a topic with this many partitions (replication factor 1) and waits for it. */
  public void createTopic(String name, int partitions) {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("cannot create topic " + name + " on " + bootstrapServers(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topic " + name, e);
    }
  }

  @Override
  public void close() {
    stopProcess();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException alreadyShuttingDown) {
      // the hook is running or has run: nothing left to remove
    }
    deleteRecursively(dir);
  }

  private void stopProcess() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private void awaitListening(Path log) {
    long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
    while (System.currentTimeMillis() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "Kafka broker exited with " + process.exitValue() + " while starting:\n" + BrokerClasspath.tail(log, 4000));
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
        return;
      } catch (IOException notYet) {
        sleep(200);
      }
    }
    throw new IllegalStateException(
        "Kafka broker did not listen on " + bootstrapServers() + " within " + START_TIMEOUT_MS / 1000 + " s:\n"
            + BrokerClasspath.tail(log, 4000));
  }

  private static Path writeConfig(Path dir, int port, int controllerPort) throws IOException {
    Properties p = new Properties();
    p.setProperty("process.roles", "broker,controller");
    p.setProperty("node.id", "1");
    p.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    p.setProperty("controller.listener.names", "CONTROLLER");
    p.setProperty("inter.broker.listener.name", "PLAINTEXT");
    p.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.setProperty("log.dirs", dir.resolve("data").toString());
    // One node: every internal topic has one replica; transactions need their log's ISR at 1.
    p.setProperty("offsets.topic.replication.factor", "1");
    p.setProperty("transaction.state.log.replication.factor", "1");
    p.setProperty("transaction.state.log.min.isr", "1");
    p.setProperty("share.coordinator.state.topic.replication.factor", "1");
    p.setProperty("share.coordinator.state.topic.min.isr", "1");
    // Fewer internal partitions than the default 50: created on first use, faster on a small machine.
    p.setProperty("offsets.topic.num.partitions", "4");
    p.setProperty("transaction.state.log.num.partitions", "4");
    p.setProperty("group.initial.rebalance.delay.ms", "0");
    p.setProperty("num.partitions", "1");
    // Retention checks from the start and every second (a production broker: after 30 s, then every 5
    // minutes). A record whose timestamp lies beyond its topic's retention (7 days by default) is then
    // deleted here within a second, as a production broker deletes it at its next check: a test that
    // writes such records loses them every time rather than once in a while (see connectors/README.md,
    // record timestamps).
    p.setProperty("log.initial.task.delay.ms", "0");
    p.setProperty("log.retention.check.interval.ms", "1000");
    Path config = dir.resolve("server.properties");
    try (var writer = Files.newBufferedWriter(config)) {
      p.store(writer, "flink-mamba LocalKafkaBroker");
    }
    Files.writeString(
        dir.resolve("log4j2.properties"),
        String.join("\n",
            "appender.out.type = Console",
            "appender.out.name = OUT",
            "appender.out.layout.type = PatternLayout",
            "appender.out.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.out.ref = OUT",
            "logger.kafka.name = kafka.log",
            "logger.kafka.level = WARN",
            ""));
    return config;
  }

  private static List<String> javaCommand(String classpath, Path dir, String mainClass, String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // C1 only and a serial collector: a test broker needs a quick start on few cores, not peak speed.
    command.addAll(List.of("-Xms256m", "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
        "-Dlog4j2.configurationFile=" + dir.resolve("log4j2.properties"),
        "-Dkafka.logs.dir=" + dir.resolve("logs"), "-cp", classpath, mainClass));
    command.addAll(List.of(args));
    return command;
  }

  private static void runToCompletion(List<String> command, Path log) throws IOException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException("Kafka storage format did not finish within 60 s:\n" + BrokerClasspath.tail(log, 4000));
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (process.exitValue() != 0) {
      throw new IOException("Kafka storage format failed (exit " + process.exitValue() + "):\n" + BrokerClasspath.tail(log, 4000));
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the Kafka broker", e);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      // Leftovers in the temp directory are harmless; the broker process is already gone.
    }
  }

  /** Starts a broker, prints its address, creates the topics named as {@code name[:partitions]}, runs until stopped. */
  public static void main(String[] args) throws InterruptedException {
    LocalKafkaBroker broker = start();
    for (String topic : args) {
      String[] parts = topic.split(":");
      broker.createTopic(parts[0], parts.length > 1 ? Integer.parseInt(parts[1]) : 1);
    }
    System.out.println("KAFKA_BOOTSTRAP_SERVERS=" + broker.bootstrapServers());
    System.out.println("KAFKA_BROKER_PID=" + broker.pid());
    System.out.println("KAFKA_BROKER_DIR=" + broker.directory());
    System.out.flush();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteRecursively(broker.directory())));
    broker.process.waitFor();
  }
}
