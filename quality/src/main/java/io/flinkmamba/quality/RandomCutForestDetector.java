package io.flinkmamba.quality;

import com.amazon.randomcutforest.RandomCutForest;

/**
 * Amazon's Random Cut Forest (randomcutforest-core) with its defaults (50 trees, sample size 256),
 * internal shingling of {@code shingle} consecutive events: the score is its anomaly score of the
 * event before the forest learns it.
 */
public final class RandomCutForestDetector implements Detector {
    private final int shingle;
    private final long seed;

    public RandomCutForestDetector(int shingle, long seed) {
        this.shingle = shingle;
        this.seed = seed;
    }

    @Override
    public String name() {
        return "Random Cut Forest (shingle " + shingle + ", 50 trees, sample 256)";
    }

    @Override
    public Stream newStream(int features) {
        RandomCutForest forest = RandomCutForest.builder()
                .dimensions(features * shingle)
                .shingleSize(shingle)
                .internalShinglingEnabled(true)
                .numberOfTrees(50)
                .sampleSize(256)
                .randomSeed(seed)
                .build();
        return x -> {
            double[] p = new double[features];
            for (int f = 0; f < features; f++) {
                p[f] = x[f];
            }
            double s = forest.getAnomalyScore(p);
            forest.update(p);
            return s;
        };
    }
}
