package io.flinkmamba.kernels.gpu;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * Copies between Java arrays and page-locked buffers. One thread's memcpy reaches only a fraction
 * of a server's memory bandwidth, and these copies are the host side of every flush, so large ones
 * are split into slices run on the common fork-join pool (absolute bulk get/put on disjoint ranges).
 */
final class HostCopies {
    /** Below this many floats (4 MiB) one thread copies: splitting would cost more than it saves. */
    static final int SLICE = 1 << 20;

    private HostCopies() {
    }

    static void put(FloatBuffer dst, int dstIndex, float[] src, int srcOff, int len) {
        int slices = (len + SLICE - 1) / SLICE;
        if (slices <= 1) {
            dst.put(dstIndex, src, srcOff, len);
            return;
        }
        IntStream.range(0, slices).parallel().forEach(i -> {
            int from = i * SLICE, n = Math.min(SLICE, len - from);
            dst.put(dstIndex + from, src, srcOff + from, n);
        });
    }

    static void get(FloatBuffer src, int srcIndex, float[] dst, int dstOff, int len) {
        int slices = (len + SLICE - 1) / SLICE;
        if (slices <= 1) {
            src.get(srcIndex, dst, dstOff, len);
            return;
        }
        IntStream.range(0, slices).parallel().forEach(i -> {
            int from = i * SLICE, n = Math.min(SLICE, len - from);
            src.get(srcIndex + from, dst, dstOff + from, n);
        });
    }
}
