package io.flinkmamba.tests;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.kernels.io.SafetensorsFile;
import io.flinkmamba.kernels.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * New model versions made from a shipped forecaster, deterministically, for the upgrade tests: the
 * same architecture with retrained-like weights (for every policy, CARRY included), and another
 * architecture with the same feature count (for a CARRY that must be refused).
 */
final class ModelVariants {
  private ModelVariants() {}

  /**
   * A copy of {@code source} whose every weight is scaled by {@code 1 + relative * N(0, 1)} (seeded):
   * same config and shapes, another fingerprint, noticeably different forecasts.
   */
  static Path perturbed(Path source, Path target, double relative, long seed) throws IOException {
    Files.createDirectories(target);
    Files.copy(source.resolve("config.json"), target.resolve("config.json"));
    Random rnd = new Random(seed);
    SafetensorsWriter w = new SafetensorsWriter();
    try (SafetensorsFile st = SafetensorsFile.open(source.resolve("model.safetensors"))) {
      for (SafetensorsFile.TensorInfo t : st.tensors().values()) {
        float[] a = st.readFloats(t.name, t.shape);
        for (int i = 0; i < a.length; i++) {
          a[i] *= (float) (1 + relative * rnd.nextGaussian());
        }
        w.add(t.name, a, t.shape);
      }
    }
    w.write(target.resolve("model.safetensors"));
    return target;
  }

  /**
   * A copy of {@code source} without its last Mamba layer ({@code num_hidden_layers} one less): the
   * same features in and out, a smaller per-key state, so a carried state cannot fit it.
   */
  static Path withoutLastLayer(Path source, Path target) throws IOException {
    Files.createDirectories(target);
    ObjectMapper json = new ObjectMapper();
    ObjectNode config = (ObjectNode) json.readTree(source.resolve("config.json").toFile());
    int layers = config.get("num_hidden_layers").asInt();
    if (layers < 2) {
      throw new IllegalArgumentException(source + " has one layer; nothing to drop");
    }
    config.put("num_hidden_layers", layers - 1);
    json.writerWithDefaultPrettyPrinter().writeValue(target.resolve("config.json").toFile(), config);
    String dropped = "backbone.layers." + (layers - 1) + ".";
    SafetensorsWriter w = new SafetensorsWriter();
    try (SafetensorsFile st = SafetensorsFile.open(source.resolve("model.safetensors"))) {
      for (SafetensorsFile.TensorInfo t : st.tensors().values()) {
        if (!t.name.startsWith(dropped)) {
          w.add(t.name, st.readFloats(t.name, t.shape), t.shape);
        }
      }
    }
    w.write(target.resolve("model.safetensors"));
    return target;
  }
}
