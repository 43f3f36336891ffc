package io.flinkmamba.kernels;

import io.flinkmamba.kernels.cli.ForwardCommand;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The team's shared reference checkpoint (../shared beside the checkout), through the CLI in both modes. */
class ConformanceSharedReferenceTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"recurrent", "parallel"})
    void matchesHuggingFace(String mode) {
        Path dir = Path.of("../../shared/reference/hf-mamba-tiny");
        assumeTrue(Files.isDirectory(dir), "no ../shared beside the checkout");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc = ForwardCommand.run(new String[] {"--model", dir.toString(), "--input", dir.resolve("inputs_embeds.npy").toString(),
                        "--output", tmp.resolve("y.npy").toString(), "--mode", mode,
                        "--expect", dir.resolve("last_hidden_state.npy").toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(out, true, StandardCharsets.UTF_8));
        assertEquals(0, rc, out.toString(StandardCharsets.UTF_8));
    }
}
