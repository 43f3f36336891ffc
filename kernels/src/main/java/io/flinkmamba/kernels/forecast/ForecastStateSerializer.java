package io.flinkmamba.kernels.forecast;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * Binary form of a {@link ForecastState}, versioned: an int format version first, then the fields.
 * Format 1: events, F, mean[F], var[F], mu[F], logVar[F] (doubles, floats), scores, longMean,
 * longVar, window length W, recentNext, recentCount, recent[W], then a flag and the backbone floats
 * (length-prefixed) when written with the backbone. Readers refuse sizes beyond sane bounds, so a
 * corrupt state fails with a clear message instead of allocating gigabytes.
 */
public final class ForecastStateSerializer {
    public static final int FORMAT = 1;
    static final int MAX_FEATURES = ForecasterConfig.MAX_FEATURES;
    static final int MAX_WINDOW = 1024;
    static final int MAX_BACKBONE_FLOATS = 1 << 28;

    private ForecastStateSerializer() {
    }

    /**
     * Writes the state; {@code withBackbone = false} leaves the backbone out for callers that store it
     * themselves (the Flink operator's key state already holds it).
     */
    public static void write(ForecastState s, DataOutput out, boolean withBackbone) throws IOException {
        out.writeInt(FORMAT);
        out.writeLong(s.events);
        int f = s.mean.length;
        out.writeInt(f);
        for (int i = 0; i < f; i++) {
            out.writeDouble(s.mean[i]);
        }
        for (int i = 0; i < f; i++) {
            out.writeDouble(s.var[i]);
        }
        for (int i = 0; i < f; i++) {
            out.writeFloat(s.mu[i]);
        }
        for (int i = 0; i < f; i++) {
            out.writeFloat(s.logVar[i]);
        }
        out.writeLong(s.scores);
        out.writeDouble(s.longMean);
        out.writeDouble(s.longVar);
        out.writeInt(s.recent.length);
        out.writeInt(s.recentNext);
        out.writeInt(s.recentCount);
        for (double r : s.recent) {
            out.writeDouble(r);
        }
        boolean backbone = withBackbone && s.backbone != null;
        out.writeBoolean(backbone);
        if (backbone) {
            out.writeInt(s.backbone.length);
            for (float v : s.backbone) {
                out.writeFloat(v);
            }
        }
    }

    /**
     * Reads a state; when it was written without its backbone, {@code backbone} (may be null) becomes
     * its backbone array.
     */
    public static ForecastState read(DataInput in, float[] backbone) throws IOException {
        int format = in.readInt();
        if (format != FORMAT) {
            throw new IOException("forecast state written in format " + format + "; this release reads format " + FORMAT);
        }
        long events = in.readLong();
        int f = bounded(in.readInt(), 1, MAX_FEATURES, "feature count");
        double[] mean = new double[f];
        double[] var = new double[f];
        float[] mu = new float[f];
        float[] logVar = new float[f];
        for (int i = 0; i < f; i++) {
            mean[i] = in.readDouble();
        }
        for (int i = 0; i < f; i++) {
            var[i] = in.readDouble();
        }
        for (int i = 0; i < f; i++) {
            mu[i] = in.readFloat();
        }
        for (int i = 0; i < f; i++) {
            logVar[i] = in.readFloat();
        }
        long scores = in.readLong();
        double longMean = in.readDouble();
        double longVar = in.readDouble();
        int w = bounded(in.readInt(), 1, MAX_WINDOW, "short window");
        int next = bounded(in.readInt(), 0, w - 1, "window position");
        int count = bounded(in.readInt(), 0, w, "window count");
        double[] recent = new double[w];
        for (int i = 0; i < w; i++) {
            recent[i] = in.readDouble();
        }
        float[] bb = backbone;
        if (in.readBoolean()) {
            int n = bounded(in.readInt(), 0, MAX_BACKBONE_FLOATS, "backbone state length");
            bb = new float[n];
            for (int i = 0; i < n; i++) {
                bb[i] = in.readFloat();
            }
        }
        ForecastState s = new ForecastState(bb, f, w);
        s.events = events;
        s.mean = mean;
        s.var = var;
        s.mu = mu;
        s.logVar = logVar;
        s.scores = scores;
        s.longMean = longMean;
        s.longVar = longVar;
        s.recent = recent;
        s.recentNext = next;
        s.recentCount = count;
        return s;
    }

    private static int bounded(int v, int min, int max, String what) throws IOException {
        if (v < min || v > max) {
            throw new IOException("corrupt forecast state: " + what + " " + v + " is outside [" + min + ", " + max + "]");
        }
        return v;
    }
}
