package io.flinkmamba.kernels.model;

import io.flinkmamba.kernels.cpu.CpuParallelForward;
import io.flinkmamba.kernels.cpu.RecurrentStepper;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A loaded Mamba block stack: immutable and shareable between threads. Work happens in the
 * per-thread objects it creates: {@link #newStepper()} (recurrent mode) and
 * {@link #newCpuParallel()} (parallel mode).
 *
 * <p>A stream's state is a {@code float[config().stateFloats()]}: per layer, the conv window
 * [E, K-1] (oldest first) followed by the SSM state [E, N]; see {@link MambaConfig#convStateOffset}.
 */
public final class MambaModel {
    private final MambaConfig config;
    private final MambaWeights weights;
    private final String source;
    private final String fingerprint;

    public MambaModel(MambaConfig config, MambaWeights weights, String source) {
        this.config = config;
        this.weights = weights;
        this.source = source;
        this.fingerprint = computeFingerprint(config, weights);
    }

    /** Loads a Hugging Face checkpoint directory (config.json + model.safetensors). */
    public static MambaModel load(Path dir) {
        return CheckpointLoader.load(dir);
    }

    /**
     * Loads the block stack from an open checkpoint file that also holds tensors the caller reads
     * itself ({@code otherTensors}, e.g. a forecaster's input projection and head). Every check of
     * {@link #load} applies (shapes, missing or unknown tensors, non-finite values); the embedding and
     * {@code lm_head} are ignored.
     */
    public static MambaModel loadBackbone(MambaConfig config, io.flinkmamba.kernels.io.SafetensorsFile file,
                                          java.util.Set<String> otherTensors, String source) {
        MambaWeights w = CheckpointLoader.read(config, file, otherTensors);
        w.checkFinite(file.path().toString());
        return new MambaModel(config, w, source);
    }

    public MambaConfig config() {
        return config;
    }

    public MambaWeights weights() {
        return weights;
    }

    /** Where the model came from (a directory), for messages. */
    public String source() {
        return source;
    }

    /** SHA-256 (hex) over the config and every weight as float32: equal fingerprints, equal models. */
    public String fingerprint() {
        return fingerprint;
    }

    /** A fresh stream state: zeros, as HF's cache starts. */
    public float[] newState() {
        return new float[config.stateFloats()];
    }

    /** Bytes of one stream's state as float32. */
    public long stateBytes() {
        return 4L * config.stateFloats();
    }

    public RecurrentStepper newStepper() {
        return new RecurrentStepper(this);
    }

    public CpuParallelForward newCpuParallel() {
        return new CpuParallelForward(this);
    }

    private static String computeFingerprint(MambaConfig c, MambaWeights w) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        md.update(c.toString().getBytes(StandardCharsets.UTF_8));
        for (LayerWeights l : w.layers) {
            for (float[] a : new float[][] {l.norm, l.inProj, l.inProjBias, l.convWeight, l.convBias, l.xProj,
                    l.dtProj, l.dtProjBias, l.aNeg, l.d, l.outProj, l.outProjBias}) {
                update(md, a);
            }
        }
        update(md, w.normF);
        StringBuilder sb = new StringBuilder();
        for (byte b : md.digest()) {
            sb.append(String.format("%02x", b));
        }
        return sb.toString();
    }

    private static void update(MessageDigest md, float[] a) {
        if (a == null) {
            md.update((byte) 0);
            return;
        }
        ByteBuffer buf = ByteBuffer.allocate(4 * a.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(a.length);
        for (float v : a) {
            buf.putFloat(v);
        }
        md.update(buf.array());
    }
}
