package io.flinkmamba.tests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The models the tests score with: the repository's shipped forecasters under {@code models/}.
 * INTERIM, until the trained models and the forecaster operator are merged: where the shipped model
 * is not there yet, a directory holding only the {@code flink_mamba.num_features} part of its
 * config.json, which is all the interim baseline scorer reads.
 */
final class TestModels {
  private TestModels() {}

  static Path sensor(Path scratch) throws IOException {
    return shipped("sensor-multivariate", 3, scratch);
  }

  static Path univariate(Path scratch) throws IOException {
    return shipped("general-univariate", 1, scratch);
  }

  static Path trade(Path scratch) throws IOException {
    return shipped("trade", 2, scratch);
  }

  private static Path shipped(String name, int features, Path scratch) throws IOException {
    Path repo = Path.of("..", "models", name).toAbsolutePath().normalize();
    if (Files.isRegularFile(repo.resolve("model.safetensors"))) {
      return repo;
    }
    Path dir = Files.createDirectories(scratch.resolve(name));
    Files.writeString(dir.resolve("config.json"), "{\"flink_mamba\": {\"num_features\": " + features + "}}");
    return dir;
  }
}
