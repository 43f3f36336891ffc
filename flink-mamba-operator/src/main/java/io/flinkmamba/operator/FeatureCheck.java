package io.flinkmamba.operator;

/** Why an event's features cannot advance a key's state, or null when they can. */
final class FeatureCheck {
    private FeatureCheck() {
    }

    static String problem(float[] features, int expected) {
        if (features == null) {
            return "missing features";
        }
        if (features.length != expected) {
            return "wrong feature count: got " + features.length + ", the model expects " + expected;
        }
        for (int i = 0; i < features.length; i++) {
            if (!Float.isFinite(features[i])) {
                return "non-finite feature at index " + i + " (" + features[i] + ")";
            }
        }
        return null;
    }
}
