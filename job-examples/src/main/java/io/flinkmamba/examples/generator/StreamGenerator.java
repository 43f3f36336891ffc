package io.flinkmamba.examples.generator;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * Labelled multi-key streams with injected anomalies, deterministic for a seed. Events are emitted
 * round-robin over keys at a fixed interval per key, so every key's stream is in event-time order.
 *
 * <p>Two families: {@link Family#SENSOR} (seasonal signals plus noise, several correlated channels)
 * and {@link Family#TRADE} (random-walk prices with volume; values = price, size). Each key gets an
 * anomaly episode with probability {@code anomalyRate} per {@code episodeEvery} events, of a kind
 * drawn uniformly from {@link AnomalyKind}.
 */
public final class StreamGenerator implements Iterator<LabelledEvent> {
    public enum Family { SENSOR, TRADE }

    private final Family family;
    private final int keys;
    private final int channels;
    private final long eventsPerKey;
    private final long intervalMs;
    private final long startMs;
    private final double anomalyRate;
    private final int episodeEvery;
    private final List<KeyProcess> processes = new ArrayList<>();
    private long emitted;

    public StreamGenerator(Family family, int keys, int channels, long eventsPerKey, long seed) {
        this(family, keys, channels, eventsPerKey, seed, 0.5, 200, 1000L, 1_700_000_000_000L);
    }

    public StreamGenerator(Family family, int keys, int channels, long eventsPerKey, long seed,
                           double anomalyRate, int episodeEvery, long intervalMs, long startMs) {
        if (keys < 1 || channels < 1 || eventsPerKey < 0 || episodeEvery < 20) {
            throw new IllegalArgumentException("keys, channels >= 1, eventsPerKey >= 0, episodeEvery >= 20");
        }
        if (family == Family.TRADE && channels != 2) {
            throw new IllegalArgumentException("trade streams have 2 channels (price, size), got " + channels);
        }
        this.family = family;
        this.keys = keys;
        this.channels = channels;
        this.eventsPerKey = eventsPerKey;
        this.intervalMs = intervalMs;
        this.startMs = startMs;
        this.anomalyRate = anomalyRate;
        this.episodeEvery = episodeEvery;
        SplittableRandom root = new SplittableRandom(seed);
        for (int k = 0; k < keys; k++) {
            processes.add(new KeyProcess(root.split(), (family == Family.SENSOR ? "sensor-" : "SYM") + k));
        }
    }

    @Override
    public boolean hasNext() {
        return emitted < eventsPerKey * keys;
    }

    @Override
    public LabelledEvent next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        long step = emitted / keys;
        KeyProcess p = processes.get((int) (emitted % keys));
        emitted++;
        return p.next(step, startMs + step * intervalMs);
    }

    /** One key's signal and its anomaly schedule. */
    private final class KeyProcess {
        final SplittableRandom rnd;
        final String key;
        final double[] level = new double[channels];
        final double[] amplitude = new double[channels];
        final double[] phase = new double[channels];
        final double period;
        final double noise;
        double price;
        double[] stuckValue;
        // current episode
        AnomalyKind kind;
        long episodeStart = -1;
        long episodeLength;
        double shift;
        long spikeAt = -1;

        KeyProcess(SplittableRandom rnd, String key) {
            this.rnd = rnd;
            this.key = key;
            for (int c = 0; c < channels; c++) {
                level[c] = rnd.nextDouble(-2, 2);
                amplitude[c] = rnd.nextDouble(0.5, 2);
                phase[c] = rnd.nextDouble(0, 2 * Math.PI);
            }
            period = rnd.nextDouble(20, 60);
            noise = rnd.nextDouble(0.05, 0.2);
            price = rnd.nextDouble(20, 200);
        }

        LabelledEvent next(long step, long ts) {
            maybeStartEpisode(step);
            boolean active = episodeStart >= 0 && step >= episodeStart && step < episodeStart + episodeLength;
            if (!active && episodeStart >= 0 && step >= episodeStart + episodeLength) {
                episodeStart = -1;
                kind = null;
                stuckValue = null;
            }
            float[] v = family == Family.SENSOR ? sensor(step, active) : trade(step, active);
            AnomalyKind label = active ? kind : null;
            if (active && kind == AnomalyKind.SPIKE && step != spikeAt) {
                label = null; // only the spiked event itself is anomalous
            }
            return new LabelledEvent(key, ts, v, label);
        }

        void maybeStartEpisode(long step) {
            // episodes start in the second half of each block, after a warm-up block
            if (episodeStart >= 0 || step < episodeEvery || step % episodeEvery != episodeEvery / 2) {
                return;
            }
            if (rnd.nextDouble() >= anomalyRate) {
                return;
            }
            AnomalyKind[] kinds = AnomalyKind.values();
            kind = kinds[rnd.nextInt(kinds.length)];
            episodeStart = step;
            episodeLength = kind == AnomalyKind.SPIKE ? 1 : rnd.nextInt(15, Math.max(16, episodeEvery / 3));
            spikeAt = step;
            shift = (rnd.nextBoolean() ? 1 : -1) * rnd.nextDouble(3, 6);
        }

        float[] sensor(long step, boolean active) {
            float[] v = new float[channels];
            double p = period;
            double sigma = noise;
            if (active && kind == AnomalyKind.FREQUENCY_CHANGE) {
                p = period / 3;
            }
            if (active && kind == AnomalyKind.VARIANCE_BURST) {
                sigma = noise * 8;
            }
            for (int c = 0; c < channels; c++) {
                double x = level[c] + amplitude[c] * Math.sin(2 * Math.PI * step / p + phase[c]) + sigma * gaussian();
                if (active) {
                    double scale = amplitude[c] + noise;
                    switch (kind) {
                        case SPIKE: x += shift * 2 * scale; break;
                        case LEVEL_SHIFT: x += shift * scale; break;
                        case DRIFT: x += shift * scale * (step - episodeStart + 1) / (double) episodeLength; break;
                        default: break;
                    }
                }
                v[c] = (float) x;
            }
            if (active && kind == AnomalyKind.STUCK) {
                if (stuckValue == null) {
                    stuckValue = new double[channels];
                    for (int c = 0; c < channels; c++) {
                        stuckValue[c] = v[c];
                    }
                }
                for (int c = 0; c < channels; c++) {
                    v[c] = (float) stuckValue[c];
                }
            }
            return v;
        }

        /** Trades: values = [price, size]; the price is a geometric random walk. */
        float[] trade(long step, boolean active) {
            double vol = 0.002;
            double ret = vol * gaussian();
            double printed;
            if (active) {
                switch (kind) {
                    case VARIANCE_BURST: ret *= 8; break;
                    case DRIFT: ret += Math.signum(shift) * 0.004; break;
                    case LEVEL_SHIFT: if (step == episodeStart) { ret += Math.signum(shift) * 0.05; } break;
                    case STUCK: ret = 0; break;
                    default: break;
                }
            }
            price *= Math.exp(ret);
            printed = active && kind == AnomalyKind.SPIKE ? price * Math.exp(Math.signum(shift) * 0.05) : price;
            // FREQUENCY_CHANGE for trades: the trading rhythm changes, seen as a volume surge
            double size = Math.exp(4 + 0.5 * gaussian()) * (active && kind == AnomalyKind.FREQUENCY_CHANGE ? 10 : 1);
            return new float[] {(float) printed, (float) Math.round(size)};
        }

        double gaussian() {
            // Box-Muller on the key's own random source, for determinism per seed
            double u1 = rnd.nextDouble(), u2 = rnd.nextDouble();
            return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
        }
    }
}
