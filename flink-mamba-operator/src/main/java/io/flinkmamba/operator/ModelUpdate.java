package io.flinkmamba.operator;

import java.io.Serializable;
import java.util.Objects;

/**
 * A request to hot-swap the model of a running Mamba operator
 * ({@link MambaOperators#score(org.apache.flink.streaming.api.datastream.KeyedStream, MambaSpec,
 * org.apache.flink.streaming.api.datastream.DataStream)}): every subtask fetches the directory,
 * checks {@link #sha256}, loads it off the hot path and switches between two events; keys are then
 * upgraded on their first touch by {@link #policy} (or the job's {@code mamba.upgrade.policy}).
 * A Flink POJO.
 */
public class ModelUpdate implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * The model directory: a local path, a {@code file:} URI or any URI of a Flink file system the
     * cluster has (s3://, hdfs://, ...). It must hold {@code config.json} and {@code model.safetensors}
     * (a plain checkpoint for {@code score}, a forecaster for {@code scoreAnomalies}).
     */
    public String modelUri;
    /**
     * Lowercase hex SHA-256 of the model's files as {@link ModelFiles#digest} defines it:
     * {@code (cd DIR && sha256sum config.json model.safetensors) | sha256sum}.
     */
    public String sha256;
    /** The version label outputs carry from the switch on. */
    public String version;
    /** The upgrade policy for keys written by the previous model; null: the job's {@code mamba.upgrade.policy}. */
    public UpgradePolicy policy;

    public ModelUpdate() {
    }

    public ModelUpdate(String modelUri, String sha256, String version, UpgradePolicy policy) {
        this.modelUri = modelUri;
        this.sha256 = sha256;
        this.version = version;
        this.policy = policy;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ModelUpdate)) {
            return false;
        }
        ModelUpdate u = (ModelUpdate) o;
        return Objects.equals(modelUri, u.modelUri) && Objects.equals(sha256, u.sha256)
                && Objects.equals(version, u.version) && policy == u.policy;
    }

    @Override
    public int hashCode() {
        return Objects.hash(modelUri, sha256, version, policy);
    }

    @Override
    public String toString() {
        return "ModelUpdate{modelUri=" + modelUri + ", sha256=" + sha256 + ", version=" + version + ", policy=" + policy + "}";
    }
}
