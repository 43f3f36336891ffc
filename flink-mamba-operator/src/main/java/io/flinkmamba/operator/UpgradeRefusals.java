package io.flinkmamba.operator;

/**
 * The words of an upgrade refusal, shared by the operator's first-touch upgrade ({@link KeyedMambaOperator})
 * and the offline savepoint tool ({@link StateRebuilder}), so that a user sees the same reason from both.
 * Callers add their own context (the operator its uid and the option to change).
 */
final class UpgradeRefusals {
    private UpgradeRefusals() {
    }

    /** "model F (version V)", or with a detail such as the model's path: "model F (version V, detail)". */
    static String model(String fingerprint, String version, String detail) {
        return "model " + fingerprint + " (version " + version + (detail == null ? "" : ", " + detail) + ")";
    }

    /** Policy FAIL: the key's state was written by another model. */
    static String fail(Object key, String from, String to) {
        return "the state of key " + key + " was written by " + from + " but this job runs " + to;
    }

    /** Policy CARRY with a state of another shape. */
    static String carry(Object key, KeyState old, String from, KeyState fresh, String to) {
        return "CARRY refused for key " + key + ": its state, written by " + from + ", has " + shapeOf(old) + " but "
                + to + " needs " + shapeOf(fresh) + "; carry needs the same architecture (use REPLAY or RESET)";
    }

    static String shapeOf(KeyState s) {
        return s.state.length + " backbone state floats" + (s.forecast == null ? " and no forecaster state"
                : ", a forecaster state of " + s.forecast.numFeatures() + " features");
    }
}
