package io.flinkmamba.sql;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Loads each model directory once per JVM and shares it between the function's instances (and the
 * planner's validation). An entry is keyed by the directory and its files' sizes and modification
 * times, so a model replaced in place is loaded again; a failed load is not cached.
 */
final class ModelCache {
    private static final Map<String, ScoringModel> MODELS = new ConcurrentHashMap<>();

    private ModelCache() {
    }

    /** The model at the function's {@code model} argument; throws IllegalArgumentException with the reason. */
    static ScoringModel get(String model) {
        Path dir = ModelRef.toPath(model).toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("model directory " + dir + " (from '" + model + "') does not exist or is not a directory");
        }
        String key = dir + "|" + stamp(dir.resolve("config.json")) + "|" + stamp(dir.resolve("model.safetensors"));
        return MODELS.computeIfAbsent(key, k -> load(dir));
    }

    private static String stamp(Path file) {
        try {
            return Files.size(file) + "@" + Files.getLastModifiedTime(file).toMillis();
        } catch (IOException e) {
            return "missing";
        }
    }

    private static ScoringModel load(Path dir) {
        try {
            return ModelKinds.load(dir, kindOf(dir));
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot load model " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The {@code flink_mamba.kind} of config.json; "block" for a plain Hugging Face Mamba checkpoint. */
    static String kindOf(Path dir) {
        Path config = dir.resolve("config.json");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(config));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + config + ": " + e.getMessage(), e);
        }
        JsonNode kind = root == null ? null : root.path("flink_mamba").get("kind");
        return kind == null || kind.isNull() ? "block" : kind.asText();
    }

    static void clear() {
        MODELS.clear();
    }
}
