package io.flinkmamba.sql;

import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.types.DataType;
import org.apache.flink.types.Row;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A plain Hugging Face Mamba checkpoint: each event's hidden_size features advance the key's block
 * state by one recurrent step and the output is the final-norm vector, exactly what the DataStream
 * operator's {@code MambaOperators.score} emits.
 */
final class BlockModel implements ScoringModel {
    static final DataType OUTPUT = DataTypes.ROW(
            DataTypes.FIELD("output", DataTypes.ARRAY(DataTypes.FLOAT())),
            DataTypes.FIELD("events_seen", DataTypes.BIGINT()),
            DataTypes.FIELD("model_version", DataTypes.STRING()),
            DataTypes.FIELD("model_fingerprint", DataTypes.STRING()),
            DataTypes.FIELD("rejected_reason", DataTypes.STRING()));

    private final MambaModel model;
    private final String version;

    BlockModel(MambaModel model, String version) {
        this.model = model;
        this.version = version;
    }

    @Override
    public String source() {
        return model.source();
    }

    @Override
    public int numFeatures() {
        return model.config().hiddenSize();
    }

    @Override
    public String version() {
        return version;
    }

    @Override
    public String fingerprint() {
        return model.fingerprint();
    }

    @Override
    public DataType outputType() {
        return OUTPUT;
    }

    @Override
    public boolean calibrated() {
        return false;
    }

    @Override
    public KeyScorer newScorer(CalibrationSettings calibration) {
        return new Scorer();
    }

    /** State bytes, format 1: format byte, fingerprint (length + UTF-8), eventsSeen, the block state floats. */
    private final class Scorer implements KeyScorer {
        private static final byte FORMAT = 1;
        private final RecurrentStepper stepper = model.newStepper();
        private final byte[] fingerprintBytes = model.fingerprint().getBytes(StandardCharsets.UTF_8);
        private final int stateFloats = model.config().stateFloats();
        private final float[] state = new float[stateFloats];
        private long eventsSeen;
        private byte[] updated;

        @Override
        public Row score(byte[] stored, float[] features) {
            if (!decode(stored)) {
                java.util.Arrays.fill(state, 0f);
                eventsSeen = 0;
            }
            float[] out = new float[numFeatures()];
            stepper.step(state, features, out);
            eventsSeen++;
            updated = encode();
            return Row.of(ForecasterModel.box(out), eventsSeen, version, model.fingerprint(), null);
        }

        @Override
        public byte[] updatedState() {
            return updated;
        }

        @Override
        public Row rejected(String reason) {
            return Row.of(null, null, version, model.fingerprint(), reason);
        }

        /** Loads the stored state; false (start afresh) for a new key or one written by another model. */
        private boolean decode(byte[] stored) {
            if (stored == null) {
                return false;
            }
            ByteBuffer b = ByteBuffer.wrap(stored);
            if (b.get() != FORMAT) {
                throw new IllegalStateException("MAMBA_SCORE state of unknown format " + stored[0]);
            }
            byte[] fp = new byte[b.getInt()];
            b.get(fp);
            if (!java.util.Arrays.equals(fp, fingerprintBytes) || b.remaining() != Long.BYTES + 4 * stateFloats) {
                return false; // written by another model: reset, as the operator's default on-model-change policy does
            }
            eventsSeen = b.getLong();
            b.asFloatBuffer().get(state);
            return true;
        }

        private byte[] encode() {
            ByteBuffer b = ByteBuffer.allocate(1 + 4 + fingerprintBytes.length + Long.BYTES + 4 * stateFloats);
            b.put(FORMAT).putInt(fingerprintBytes.length).put(fingerprintBytes).putLong(eventsSeen);
            b.asFloatBuffer().put(state);
            return b.array();
        }
    }
}
