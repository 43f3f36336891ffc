package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.testing.RandomCheckpoints;

import java.io.IOException;
import java.nio.file.Path;

/** A random Hugging Face style checkpoint directory: see {@link RandomCheckpoints}. */
final class RandomCheckpoint {
    private RandomCheckpoint() {
    }

    static Path write(Path dir, MambaConfig c, long seed) throws IOException {
        return RandomCheckpoints.write(dir, c, seed);
    }
}
