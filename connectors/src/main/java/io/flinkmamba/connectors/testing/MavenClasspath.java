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
 * The runtime classpath of a small pom shipped as a resource, resolved by Maven in a cache directory
 * and never taken from this JVM's classpath: what runs in a separate process (a Kafka broker, a
 * Flink cluster) must not share this JVM's dependency versions.
 *
 * <p>Resolved lists are cached in {@code ~/.cache/flink-mamba/<name>/} (override the directory with
 * {@code FLINK_MAMBA_CACHE}) and reused while every jar in them exists. Maven is {@code mvn} on the
 * PATH, or {@code MAVEN_CMD}.
 */
public final class MavenClasspath {
  private static final long RESOLVE_TIMEOUT_MINUTES = 10;

  private MavenClasspath() {}

  /**
   * @param name cache directory name (include the version)
   * @param anchor class next to which {@code pomResource} lies
   * @param given a ready classpath that wins when not blank (from a system property or environment), or null
   */
  public static String resolve(String name, Class<?> anchor, String pomResource, String given) {
    if (given != null && !given.isBlank()) {
      return given;
    }
    try {
      Path dir = cacheDir().resolve(name);
      Files.createDirectories(dir);
      Path pom = dir.resolve("pom.xml");
      byte[] wanted = pomBytes(anchor, pomResource);
      if (!Files.exists(pom) || !Arrays.equals(Files.readAllBytes(pom), wanted)) {
        writeAtomically(pom, wanted);
        Files.deleteIfExists(dir.resolve("classpath.txt"));
      }
      Path cached = dir.resolve("classpath.txt");
      if (isComplete(cached)) {
        return Files.readString(cached).trim();
      }
      runMaven(name, dir, pom, cached);
      return Files.readString(cached).trim();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve the classpath of " + name, e);
    }
  }

  private static Path cacheDir() {
    String override = System.getenv("FLINK_MAMBA_CACHE");
    return override != null && !override.isBlank()
        ? Path.of(override)
        : Path.of(System.getProperty("user.home"), ".cache", "flink-mamba");
  }

  private static byte[] pomBytes(Class<?> anchor, String pomResource) throws IOException {
    try (InputStream in = anchor.getResourceAsStream(pomResource)) {
      if (in == null) {
        throw new IOException("resource " + pomResource + " missing next to " + anchor.getName());
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

  private static void runMaven(String name, Path dir, Path pom, Path classpathFile) throws IOException {
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
        throw new IOException("Maven did not resolve " + name + " within " + RESOLVE_TIMEOUT_MINUTES + " minutes; see " + log);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while resolving the classpath of " + name, e);
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

  /** The last {@code chars} characters of a log file, for error messages. */
  public static String tail(Path file, int chars) {
    try {
      String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
      return text.length() <= chars ? text : "..." + text.substring(text.length() - chars);
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e.getMessage() + ")";
    }
  }
}
