package io.flinkmamba.kernels.gpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The PTX and cubin shipped (gzipped) in the resources are what scripts/build-ptx.sh makes from the sources (needs nvcc). */
class ShippedKernelsTest {
    @Test
    void shippedFilesMatchTheSources(@TempDir Path tmp) throws Exception {
        Path root = Path.of("").toAbsolutePath().getParent();
        Path script = root.resolve("scripts/build-ptx.sh");
        assumeTrue(Files.isRegularFile(script), "no scripts/build-ptx.sh beside the module");
        assumeTrue(nvccFound(), "no nvcc on the PATH");
        Process p = new ProcessBuilder("bash", script.toString(), tmp.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "nvcc took too long");
        assertEquals(0, p.exitValue(), "build-ptx.sh failed:\n" + log);
        Path shipped = root.resolve("kernels/src/main/resources/io/flinkmamba/kernels/gpu");
        for (String f : List.of("mamba.ptx.gz", "mamba.sm_90a.cubin.gz")) { // inflated: gzip versions may differ
            assertArrayEquals(inflate(tmp.resolve(f)), inflate(shipped.resolve(f)),
                    f + " differs from a fresh build: run scripts/build-ptx.sh and commit the result");
        }
    }

    private static byte[] inflate(Path gz) throws java.io.IOException {
        try (java.io.InputStream in = new java.util.zip.GZIPInputStream(Files.newInputStream(gz))) {
            return in.readAllBytes();
        }
    }

    private static boolean nvccFound() {
        String nvcc = System.getenv("NVCC");
        if (nvcc != null) {
            return new File(nvcc).canExecute();
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (new File(dir, "nvcc").canExecute()) {
                return true;
            }
        }
        return false;
    }
}
