package io.flinkmamba.tests;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shipped forecaster models under the repository's {@code models/}, which the tests score with. */
final class TestModels {
  private TestModels() {}

  static Path sensor(Path unused) {
    return shipped("sensor-multivariate");
  }

  static Path univariate(Path unused) {
    return shipped("general-univariate");
  }

  static Path trade(Path unused) {
    return shipped("trade");
  }

  private static Path shipped(String name) {
    Path dir = Path.of("..", "models", name).toAbsolutePath().normalize();
    if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
      throw new IllegalStateException("shipped model missing: " + dir);
    }
    return dir;
  }
}
