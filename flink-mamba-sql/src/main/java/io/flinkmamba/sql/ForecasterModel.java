package io.flinkmamba.sql;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.ForecastStateSerializer;
import io.flinkmamba.kernels.forecast.Forecaster;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.types.DataType;
import org.apache.flink.types.Row;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A forecaster directory: each event is scored by kernels' per-key engine ({@link ForecastScorer},
 * the same one the DataStream operator's {@code scoreAnomalies} runs) against the key's
 * {@link ForecastState}, kept as the bytes {@link ForecastStateSerializer} writes.
 */
final class ForecasterModel implements ScoringModel {
    static final DataType OUTPUT = DataTypes.ROW(
            DataTypes.FIELD("forecast", DataTypes.ARRAY(DataTypes.FLOAT())),
            DataTypes.FIELD("forecast_std", DataTypes.ARRAY(DataTypes.FLOAT())),
            DataTypes.FIELD("score", DataTypes.DOUBLE()),
            DataTypes.FIELD("anomaly_likelihood", DataTypes.DOUBLE()),
            DataTypes.FIELD("is_anomaly", DataTypes.BOOLEAN()),
            DataTypes.FIELD("warming_up", DataTypes.BOOLEAN()),
            DataTypes.FIELD("events_seen", DataTypes.BIGINT()),
            DataTypes.FIELD("model_version", DataTypes.STRING()),
            DataTypes.FIELD("model_fingerprint", DataTypes.STRING()),
            DataTypes.FIELD("rejected_reason", DataTypes.STRING()));

    private final Forecaster forecaster;

    ForecasterModel(Forecaster forecaster) {
        this.forecaster = forecaster;
    }

    @Override
    public String source() {
        return forecaster.source();
    }

    @Override
    public int numFeatures() {
        return forecaster.numFeatures();
    }

    @Override
    public String version() {
        return forecaster.config().version();
    }

    @Override
    public String fingerprint() {
        return forecaster.fingerprint();
    }

    @Override
    public DataType outputType() {
        return OUTPUT;
    }

    @Override
    public boolean calibrated() {
        return true;
    }

    @Override
    public KeyScorer newScorer(CalibrationSettings calibration) {
        return new Scorer(new ForecastScorer(forecaster, calibration));
    }

    /** State bytes, format 1: a format byte, the model fingerprint (length + UTF-8), then ForecastStateSerializer's bytes (backbone included). */
    private final class Scorer implements KeyScorer {
        private static final byte FORMAT = 1;
        private final ForecastScorer scorer;
        private final byte[] fingerprintBytes = forecaster.fingerprint().getBytes(StandardCharsets.UTF_8);
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        private byte[] updated;

        Scorer(ForecastScorer scorer) {
            this.scorer = scorer;
        }

        @Override
        public Row score(byte[] stored, float[] features) {
            ForecastState s = decode(stored);
            ForecastResult r = scorer.score(s, features);
            updated = encode(s);
            boolean has = r.hasForecast();
            return Row.of(has ? box(r.forecast) : null, has ? box(r.forecastStd) : null, r.score, r.likelihood,
                    r.anomaly, r.warmingUp, r.eventsSeen, version(), fingerprint(), null);
        }

        @Override
        public byte[] updatedState() {
            return updated;
        }

        @Override
        public Row rejected(String reason) {
            return Row.of(null, null, null, null, null, null, null, version(), fingerprint(), reason);
        }

        /** The key's state; a fresh one for a new key or one written by another model (the operator's default RESET policy). */
        private ForecastState decode(byte[] stored) {
            if (stored == null) {
                return scorer.newState();
            }
            try {
                DataInputStream in = new DataInputStream(new ByteArrayInputStream(stored));
                byte format = in.readByte();
                if (format != FORMAT) {
                    throw new IOException("MAMBA_SCORE state of unknown format " + format);
                }
                byte[] fp = new byte[in.readInt()];
                in.readFully(fp);
                if (!Arrays.equals(fp, fingerprintBytes)) {
                    return scorer.newState();
                }
                ForecastState s = ForecastStateSerializer.read(in, null);
                if (!scorer.fits(s) || s.recent.length != scorer.calibration().shortWindow()) {
                    return scorer.newState();
                }
                return s;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read a key's MAMBA_SCORE state: " + e.getMessage(), e);
            }
        }

        private byte[] encode(ForecastState s) {
            buffer.reset();
            try {
                DataOutputStream out = new DataOutputStream(buffer);
                out.writeByte(FORMAT);
                out.writeInt(fingerprintBytes.length);
                out.write(fingerprintBytes);
                ForecastStateSerializer.write(s, out, true);
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return buffer.toByteArray();
        }
    }

    static Float[] box(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
        return b;
    }
}
