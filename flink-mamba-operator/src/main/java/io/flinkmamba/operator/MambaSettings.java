package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.gpu.GpuPrecision;
import org.apache.flink.configuration.ReadableConfig;

import java.io.Serializable;
import java.time.Duration;
import java.util.Locale;

/** The operator's resolved, validated settings (options merged with builder overrides). */
final class MambaSettings implements Serializable {
    private static final long serialVersionUID = 1L;

    final ScoringMode mode;
    final int batchMaxEvents;
    final long batchMaxDelayMs;
    final boolean flushOnCheckpoint;
    final String device;
    /** mamba.gpu.precision; null: the GPU implementation's default. */
    final GpuPrecision gpuPrecision;
    final Ordering ordering;
    final long allowedLatenessMs;
    final String expectedBackend;
    final UpgradePolicy upgradePolicy;
    final int replayWindow;
    final int scoreWarmupEvents;
    /** Idle-key state expiry in milliseconds; 0 = never. */
    final long stateTtlMs;
    /** scoreAnomalies' calibration: threshold, warm-up and window (validated here, at build time). */
    final CalibrationSettings calibration;
    /** Hot swap: the most bytes a model update's files may have. */
    final long modelUpdateMaxBytes;

    MambaSettings(ReadableConfig c) {
        this.mode = c.get(MambaOptions.MODE);
        this.batchMaxEvents = c.get(MambaOptions.BATCH_MAX_EVENTS);
        if (batchMaxEvents < 1) {
            throw new IllegalArgumentException(MambaOptions.BATCH_MAX_EVENTS.key() + " must be >= 1, got " + batchMaxEvents);
        }
        this.batchMaxDelayMs = nonNegativeMillis(MambaOptions.BATCH_MAX_DELAY.key(), c.get(MambaOptions.BATCH_MAX_DELAY));
        this.flushOnCheckpoint = c.get(MambaOptions.BATCH_FLUSH_ON_CHECKPOINT);
        this.device = c.get(MambaOptions.DEVICE).trim().toLowerCase(Locale.ROOT);
        if (!device.equals("cpu") && !device.equals("gpu") && !device.equals("auto")) {
            throw new IllegalArgumentException(MambaOptions.DEVICE.key() + " must be cpu, gpu or auto, got '" + device + "'");
        }
        this.gpuPrecision = c.getOptional(MambaOptions.GPU_PRECISION).orElse(null);
        this.ordering = c.get(MambaOptions.ORDERING);
        this.allowedLatenessMs = nonNegativeMillis(MambaOptions.ALLOWED_LATENESS.key(), c.get(MambaOptions.ALLOWED_LATENESS));
        this.expectedBackend = c.get(MambaOptions.EXPECTED_STATE_BACKEND).trim().toLowerCase(Locale.ROOT);
        if (!expectedBackend.equals("any") && !expectedBackend.equals("heap") && !expectedBackend.equals("rocksdb")) {
            throw new IllegalArgumentException(MambaOptions.EXPECTED_STATE_BACKEND.key()
                    + " must be any, heap or rocksdb, got '" + expectedBackend + "'");
        }
        this.upgradePolicy = c.getOptional(MambaOptions.UPGRADE_POLICY)
                .orElseGet(() -> UpgradePolicy.of(c.get(MambaOptions.ON_MODEL_CHANGE)));
        this.replayWindow = c.get(MambaOptions.UPGRADE_REPLAY_WINDOW);
        if (replayWindow < 0 || replayWindow > KeyStateSerializer.MAX_REPLAY) {
            throw new IllegalArgumentException(MambaOptions.UPGRADE_REPLAY_WINDOW.key() + " must be in [0, "
                    + KeyStateSerializer.MAX_REPLAY + "], got " + replayWindow);
        }
        if (upgradePolicy == UpgradePolicy.REPLAY && replayWindow == 0) {
            throw new IllegalArgumentException(MambaOptions.UPGRADE_POLICY.key() + "=REPLAY needs "
                    + MambaOptions.UPGRADE_REPLAY_WINDOW.key() + " > 0 (the events to replay are kept in state)");
        }
        this.scoreWarmupEvents = c.get(MambaOptions.SCORE_WARMUP_EVENTS);
        if (scoreWarmupEvents < 0) {
            throw new IllegalArgumentException(MambaOptions.SCORE_WARMUP_EVENTS.key() + " must be >= 0, got " + scoreWarmupEvents);
        }
        this.stateTtlMs = nonNegativeMillis(MambaOptions.STATE_TTL.key(), c.get(MambaOptions.STATE_TTL));
        double threshold = c.get(MambaOptions.ANOMALY_THRESHOLD);
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException(MambaOptions.ANOMALY_THRESHOLD.key() + " must be in (0, 1), got " + threshold);
        }
        int warmup = c.get(MambaOptions.ANOMALY_WARMUP_EVENTS);
        if (warmup < 0) {
            throw new IllegalArgumentException(MambaOptions.ANOMALY_WARMUP_EVENTS.key() + " must be >= 0, got " + warmup);
        }
        int window = c.get(MambaOptions.ANOMALY_WINDOW);
        if (window < 1 || window > 1024) {
            throw new IllegalArgumentException(MambaOptions.ANOMALY_WINDOW.key() + " must be in [1, 1024], got " + window);
        }
        this.modelUpdateMaxBytes = c.get(MambaOptions.MODEL_UPDATE_MAX_BYTES).getBytes();
        this.calibration = CalibrationSettings.DEFAULT.withThreshold(threshold).withWarmupEvents(warmup).withShortWindow(window);
    }

    /** The options a {@link BatchForwardProvider} may read. */
    org.apache.flink.configuration.Configuration deviceOptions() {
        org.apache.flink.configuration.Configuration c = new org.apache.flink.configuration.Configuration();
        if (gpuPrecision != null) {
            c.set(MambaOptions.GPU_PRECISION, gpuPrecision);
        }
        return c;
    }

    private static long nonNegativeMillis(String key, Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException(key + " must not be negative, got " + d);
        }
        return d.toMillis();
    }

    @Override
    public String toString() {
        return "mode=" + mode + ", batchMaxEvents=" + batchMaxEvents + ", batchMaxDelayMs=" + batchMaxDelayMs
                + ", flushOnCheckpoint=" + flushOnCheckpoint + ", device=" + device
                + (gpuPrecision != null ? ", gpuPrecision=" + gpuPrecision : "") + ", ordering=" + ordering
                + ", allowedLatenessMs=" + allowedLatenessMs + ", expectedBackend=" + expectedBackend
                + ", upgradePolicy=" + upgradePolicy + ", replayWindow=" + replayWindow
                + ", scoreWarmupEvents=" + scoreWarmupEvents + ", anomaly calibration: " + calibration;
    }
}
