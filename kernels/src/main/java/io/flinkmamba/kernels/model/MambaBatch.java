package io.flinkmamba.kernels.model;

import java.util.Arrays;

/**
 * A ragged batch of sequences for the parallel mode, packed so that one implementation (CPU or GPU)
 * can take it without per-sequence copies: sequence i owns tokens [offset(i), offset(i+1)) of
 * {@link #inputs()} and {@link #outputs()} (rows of hidden_size floats) and the slice
 * [i·stateFloats, (i+1)·stateFloats) of {@link #states()}, which holds its initial state before a
 * forward call and its final state after. Empty sequences are allowed: their state passes through.
 *
 * <p>Reusable: {@link #clear()} keeps the buffers, which grow as needed.
 *
 * <p>A sequence may instead share its caller's state array ({@link #addSequenceSharingState}): a
 * forward whose {@link BatchForward#sharesStates()} is true reads and advances that array in place,
 * which saves copying every state in and out of the batch (two state copies per key and flush; at
 * small models as costly as the forward itself). Its slice of {@link #states()} is then unused.
 */
public final class MambaBatch {
    private final int hidden;
    private final int stateFloats;
    private int size;
    private int[] offsets = new int[17];
    private float[] inputs = new float[0];
    private float[] outputs = new float[0];
    private float[] states = new float[0];
    /** Per sequence: the caller's state array when shared, else null (the state is in {@link #states}). */
    private float[][] shared = new float[16][];
    private int[] sharedOffsets = new int[16];
    private int sharedCount;

    public MambaBatch(MambaConfig config) {
        this.hidden = config.hiddenSize();
        this.stateFloats = config.stateFloats();
    }

    public void clear() {
        if (sharedCount > 0) {
            Arrays.fill(shared, 0, size, null); // do not keep callers' arrays alive
            sharedCount = 0;
        }
        size = 0;
        offsets[0] = 0;
    }

    /**
     * Appends a sequence of {@code length} tokens with the given initial state (copied) and returns
     * its index. Its inputs are to be written with {@link #setInput} or directly into {@link #inputs()}.
     */
    public int addSequence(float[] initialState, int stateOff, int length) {
        return append(java.util.Objects.requireNonNull(initialState, "initialState"), stateOff, length);
    }

    private int append(float[] initialState, int stateOff, int length) {
        if (length < 0) {
            throw new IllegalArgumentException("negative length " + length);
        }
        int i = size;
        if (i + 2 > offsets.length) {
            offsets = Arrays.copyOf(offsets, Math.max(2 * offsets.length, i + 2));
        }
        int start = offsets[i];
        int end = Math.addExact(start, length);
        ensureTokens(end);
        ensureStates(i + 1);
        if (i + 1 > shared.length) {
            shared = Arrays.copyOf(shared, Math.max(2 * shared.length, i + 1));
            sharedOffsets = Arrays.copyOf(sharedOffsets, shared.length);
        }
        shared[i] = null;
        if (initialState != null) { // null: a shared state (addSequenceSharingState)
            System.arraycopy(initialState, stateOff, states, i * stateFloats, stateFloats);
        }
        offsets[i + 1] = end;
        size = i + 1;
        return i;
    }

    /**
     * Appends a sequence whose state stays in the caller's {@code state[stateOff .. +stateFloats)}: the
     * forward reads the initial state there and leaves the final state there (no copies). Only for a
     * {@link BatchForward} whose {@link BatchForward#sharesStates()} is true; the array must not be
     * shared by two sequences of one batch.
     */
    public int addSequenceSharingState(float[] state, int stateOff, int length) {
        if (stateOff < 0 || stateOff + stateFloats > state.length) {
            throw new IndexOutOfBoundsException("state slice [" + stateOff + ", +" + stateFloats + ") of an array of "
                    + state.length);
        }
        int i = append(null, 0, length);
        shared[i] = state;
        sharedOffsets[i] = stateOff;
        sharedCount++;
        return i;
    }

    /** Whether some sequence shares its caller's state array (see {@link #addSequenceSharingState}). */
    public boolean hasSharedStates() {
        return sharedCount > 0;
    }

    /** The array holding sequence i's state: the caller's when shared, else {@link #states()}. */
    public float[] stateArray(int seq) {
        float[] a = shared[checkSeq(seq)];
        return a != null ? a : states;
    }

    /** Offset of sequence i's state in {@link #stateArray}. */
    public int stateOffset(int seq) {
        return shared[checkSeq(seq)] != null ? sharedOffsets[seq] : seq * stateFloats;
    }

    public int addSequence(float[] initialState, int length) {
        return addSequence(initialState, 0, length);
    }

    private void ensureTokens(int tokens) {
        long need = (long) tokens * hidden;
        if (need > inputs.length) {
            int cap = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(need, 2L * inputs.length));
            inputs = Arrays.copyOf(inputs, cap);
            outputs = Arrays.copyOf(outputs, cap);
        }
    }

    private void ensureStates(int seqs) {
        long need = (long) seqs * stateFloats;
        if (need > states.length) {
            states = Arrays.copyOf(states, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(need, 2L * states.length)));
        }
    }

    /** Copies one token's features (hidden_size floats from src at srcOff) into sequence i at position t. */
    public void setInput(int seq, int t, float[] src, int srcOff) {
        System.arraycopy(src, srcOff, inputs, (tokenOffset(seq) + checkT(seq, t)) * hidden, hidden);
    }

    /** Copies one token's output of sequence i at position t into dst. */
    public void getOutput(int seq, int t, float[] dst, int dstOff) {
        System.arraycopy(outputs, (tokenOffset(seq) + checkT(seq, t)) * hidden, dst, dstOff, hidden);
    }

    /** Copies sequence i's state (the final one after a forward call) into dst. */
    public void getState(int seq, float[] dst, int dstOff) {
        float[] src = stateArray(seq);
        int srcOff = stateOffset(seq);
        if (src != dst || srcOff != dstOff) {
            System.arraycopy(src, srcOff, dst, dstOff, stateFloats);
        }
    }

    private int checkT(int seq, int t) {
        if (t < 0 || t >= length(seq)) {
            throw new IndexOutOfBoundsException("token " + t + " of sequence " + seq + " with length " + length(seq));
        }
        return t;
    }

    private int checkSeq(int seq) {
        if (seq < 0 || seq >= size) {
            throw new IndexOutOfBoundsException("sequence " + seq + " of " + size);
        }
        return seq;
    }

    public int size() {
        return size;
    }

    public int totalTokens() {
        return offsets[size];
    }

    public int tokenOffset(int seq) {
        return offsets[checkSeq(seq)];
    }

    public int length(int seq) {
        return offsets[checkSeq(seq) + 1] - offsets[seq];
    }

    public int maxLength() {
        int m = 0;
        for (int i = 0; i < size; i++) {
            m = Math.max(m, offsets[i + 1] - offsets[i]);
        }
        return m;
    }

    public int hiddenSize() {
        return hidden;
    }

    public int stateFloats() {
        return stateFloats;
    }

    /** Token offsets, size()+1 valid entries. Backing array: do not modify. */
    public int[] offsets() {
        return offsets;
    }

    /** [totalTokens, hidden] inputs (backing array, may be longer). */
    public float[] inputs() {
        return inputs;
    }

    /** [totalTokens, hidden] outputs after a forward call (backing array, may be longer). */
    public float[] outputs() {
        return outputs;
    }

    /** [size, stateFloats] initial states before, final states after a forward call (backing array). */
    public float[] states() {
        return states;
    }
}
