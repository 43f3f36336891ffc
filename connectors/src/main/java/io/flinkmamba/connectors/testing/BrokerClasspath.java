package io.flinkmamba.connectors.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The classpath of a standalone Kafka broker (kafka_2.13 and its dependencies), resolved by Maven
 * from a small pom shipped as a resource, never from this JVM's classpath: the broker's
 * kafka-clients differs from the Flink connector's, and they must not meet on one classpath.
 *
 * <p>The resolved list is cached in {@code ~/.cache/flink-mamba/kafka-broker-<version>/} (override
 * the directory with {@code FLINK_MAMBA_CACHE}); a ready classpath can be given with the system
 * property {@code flinkmamba.kafka.classpath} or the environment variable
 * {@code FLINK_MAMBA_KAFKA_CLASSPATH}. Maven is {@code mvn} on the PATH, or {@code MAVEN_CMD}.
 */
public final class BrokerClasspath {
  static final String KAFKA_VERSION = "4.1.0";
  private static final String POM_RESOURCE = "kafka-broker-pom.xml";
  private static final long RESOLVE_TIMEOUT_MINUTES = 10;

  private BrokerClasspath() {}

  public static String resolve() {
    String given = System.getProperty("flinkmamba.kafka.classpath", System.getenv("FLINK_MAMBA_KAFKA_CLASSPATH"));
    if (given != null && !given.isBlank()) {
      return given;
    }
    try {
      Path dir = cacheDir().resolve("kafka-broker-" + KAFKA_VERSION);
      Files.createDirectories(dir);
      Path pom = dir.resolve("pom.xml");
      byte[] wanted = pomBytes();
      if (!Files.exists(pom) || !Arrays.equals(Files.readAllBytes(pom), wanted)) {
        writeAtomically(pom, wanted);
        Files.deleteIfExists(dir.resolve("classpath.txt"));
      }
      Path cached = dir.resolve("classpath.txt");
      if (isComplete(cached)) {
        return Files.readString(cached).trim();
      }
      runMaven(dir, pom, cached);
      return Files.readString(cached).trim();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve the Kafka broker's classpath", e);
    }
  }

  private static Path cacheDir() {
    String override = System.getenv("FLINK_MAMBA_CACHE");
    return override != null && !override.isBlank()
        ? Path.of(override)
        : Path.of(System.getProperty("user.home"), ".cache", "flink-mamba");
  }

  private static byte[] pomBytes() throws IOException {
    try (InputStream in = BrokerClasspath.class.getResourceAsStream(POM_RESOURCE)) {
      if (in == null) {
        throw new IOException("resource " + POM_RESOURCE + " missing next to " + BrokerClasspath.class.getName());
      }
      return in.readAllBytes();
    }
  }

  /** A cached classpath is used only if every jar in it is still there (a cleaned ~/.m2 would break it). */
  private static boolean isComplete(Path classpathFile) throws IOException {
    if (!Files.exists(classpathFile)) {
      return false;
    }
    String classpath = Files.readString(classpathFile).trim();
    if (classpath.isEmpty()) {
      return false;
    }
    for (String entry : classpath.split(java.io.File.pathSeparator)) {
      if (!Files.exists(Path.of(entry))) {
        return false;
      }
    }
    return true;
  }

  private static void runMaven(Path dir, Path pom, Path classpathFile) throws IOException {
    String maven = System.getenv().getOrDefault("MAVEN_CMD", "mvn");
    // Written under a unique name and moved into place: two test JVMs may resolve at once.
    Path partial = Files.createTempFile(dir, "classpath", ".partial");
    Path log = dir.resolve("resolve.log");
    List<String> command =
        List.of(maven, "-B", "-q", "-f", pom.toString(), "dependency:build-classpath",
            "-Dmdep.outputFile=" + partial, "-Dmdep.includeScope=runtime");
    Process process =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      if (!process.waitFor(RESOLVE_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new IOException("Maven did not resolve the Kafka broker within " + RESOLVE_TIMEOUT_MINUTES + " minutes; see " + log);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while resolving the Kafka broker's classpath", e);
    }
    if (process.exitValue() != 0) {
      throw new IOException(
          String.join(" ", command) + " failed (exit " + process.exitValue() + "):\n"
              + tail(log, 2000));
    }
    Files.move(partial, classpathFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static void writeAtomically(Path target, byte[] bytes) throws IOException {
    Path temp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
    Files.write(temp, bytes);
    Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  static String tail(Path file, int chars) {
    try {
      String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
      return text.length() <= chars ? text : "..." + text.substring(text.length() - chars);
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e.getMessage() + ")";
    }
  }
}
