package io.flinkmamba.kernels.gpu;

import io.flinkmamba.kernels.model.MambaBatch;

import java.util.ArrayList;
import java.util.List;

/**
 * How a batch is cut into device-sized chunks of consecutive sequences, so device memory stays
 * bounded whatever the batch: each chunk has at most {@code maxTokens} tokens and {@code maxSeqs}
 * sequences, except that a sequence longer than {@code maxTokens} forms a chunk of its own.
 * Consecutive sequences are contiguous in the batch's arrays: a chunk moves as three plain copies.
 */
final class ChunkPlan {
    /** Sequences [first, last) with tokens [tokenStart, tokenEnd). */
    record Chunk(int first, int last, int tokenStart, int tokenEnd) {
        int seqs() { return last - first; }
        int tokens() { return tokenEnd - tokenStart; }
    }

    private ChunkPlan() {
    }

    static List<Chunk> plan(MambaBatch b, int maxTokens, int maxSeqs) {
        if (maxTokens < 1 || maxSeqs < 1) {
            throw new IllegalArgumentException("chunk limits must be positive");
        }
        List<Chunk> chunks = new ArrayList<>();
        int n = b.size();
        int[] off = b.offsets();
        int first = 0;
        while (first < n) {
            int last = first + 1;
            while (last < n && last - first < maxSeqs && off[last + 1] - off[first] <= maxTokens) {
                last++;
            }
            chunks.add(new Chunk(first, last, off[first], off[last]));
            first = last;
        }
        return chunks;
    }
}
