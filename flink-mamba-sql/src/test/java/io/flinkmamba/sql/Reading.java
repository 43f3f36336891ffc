package io.flinkmamba.sql;

import io.flinkmamba.operator.FeatureExtractor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** A test event: a key, a time and F feature values (null for a SQL NULL). POJO for the DataStream side. */
public class Reading {
    public String key;
    public long ts;
    public Double[] values;

    public Reading() {
    }

    Reading(String key, long ts, Double... values) {
        this.key = key;
        this.ts = ts;
        this.values = values;
    }

    /** {@code count} readings of {@code keys} keys in random interleaving, values ~ N(0, 1) around a per-key level. */
    static List<Reading> random(int keys, int count, int features, long seed) {
        Random rnd = new Random(seed);
        List<Reading> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int k = rnd.nextInt(keys);
            Double[] v = new Double[features];
            for (int j = 0; j < features; j++) {
                v[j] = k + rnd.nextGaussian();
            }
            out.add(new Reading("k" + k, 1_000L * i, v));
        }
        return out;
    }

    boolean valid() {
        return Arrays.stream(values).allMatch(v -> v != null && Float.isFinite(v.floatValue()));
    }

    /** What a DataStream job would extract: the values cast to float. */
    static final class Extractor implements FeatureExtractor<Reading> {
        private static final long serialVersionUID = 1L;

        @Override
        public float[] features(Reading r) {
            float[] f = new float[r.values.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = r.values[i].floatValue();
            }
            return f;
        }

        @Override
        public long eventTime(Reading r, long recordTimestamp) {
            return r.ts;
        }
    }

    @Override
    public String toString() {
        return key + "@" + ts + Arrays.toString(values);
    }
}
