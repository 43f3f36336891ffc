package io.flinkmamba.quality;

/**
 * The classic peer: each feature's distance from the mean of its previous {@code window} values, in
 * their standard deviations; the event's score is the largest over features.
 */
public final class RollingZScore implements Detector {
    private final int window;

    public RollingZScore(int window) {
        this.window = window;
    }

    @Override
    public String name() {
        return "rolling z-score (window " + window + ")";
    }

    @Override
    public Stream newStream(int features) {
        double[][] ring = new double[features][window];
        int[] n = {0};
        return x -> {
            double score = 0;
            int have = Math.min(n[0], window);
            for (int f = 0; f < features; f++) {
                if (have >= 2) {
                    double sum = 0, sq = 0;
                    for (int i = 0; i < have; i++) {
                        sum += ring[f][i];
                    }
                    double mean = sum / have;
                    for (int i = 0; i < have; i++) {
                        double d = ring[f][i] - mean;
                        sq += d * d;
                    }
                    double sd = Math.sqrt(sq / (have - 1));
                    score = Math.max(score, Math.abs(x[f] - mean) / Math.max(sd, 1e-9 * (1 + Math.abs(mean))));
                }
                ring[f][n[0] % window] = x[f];
            }
            n[0]++;
            return score;
        };
    }
}
