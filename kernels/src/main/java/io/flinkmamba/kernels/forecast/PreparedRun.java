package io.flinkmamba.kernels.forecast;

/**
 * A run of one key's events made ready for one batched backbone call: the normalised features
 * (unclipped), the normaliser statistics each event was normalised with, the backbone inputs, and the
 * statistics after the run. Made by {@link ForecastScorer#prepare}; the key's state is untouched
 * until {@link ForecastScorer#finish}.
 */
public final class PreparedRun {
    final int length;
    final float[][] events;
    /** [length, F] normalised features. */
    final double[] z;
    /** [length, F] mean and scale used to normalise each event. */
    final double[] mean;
    final double[] scale;
    /** [length, hidden] backbone inputs. */
    final float[] inputs;
    /** Normaliser statistics after the whole run. */
    final long eventsAfter;
    final double[] meanAfter;
    final double[] varAfter;

    PreparedRun(int length, float[][] events, double[] z, double[] mean, double[] scale, float[] inputs,
                long eventsAfter, double[] meanAfter, double[] varAfter) {
        this.length = length;
        this.events = events;
        this.z = z;
        this.mean = mean;
        this.scale = scale;
        this.inputs = inputs;
        this.eventsAfter = eventsAfter;
        this.meanAfter = meanAfter;
        this.varAfter = varAfter;
    }

    public int length() {
        return length;
    }

    /** [length, hidden_size] backbone inputs, event after event. */
    public float[] inputs() {
        return inputs;
    }
}
