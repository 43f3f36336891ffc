package io.flinkmamba.savepoint;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.operator.StateRebuilder;
import io.flinkmamba.operator.UpgradePolicy;

import java.io.PrintStream;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code bin/flink-mamba savepoint inspect PATH [--uid UID] [--key-type string|long|int] [--json] [--limit N]}:
 * what a savepoint holds for a Mamba operator: per key the model version and fingerprint that wrote its
 * state, events seen, state bytes, buffered events; a summary per model version first.
 * Exit codes: 0 done, 1 failure (message on stderr), 2 usage error.
 */
public final class SavepointCommand {
    private SavepointCommand() {
    }

    static final String USAGE = "usage: flink-mamba savepoint inspect PATH [--uid UID (default mamba-scoring)] "
            + "[--key-type string|long|int] [--json] [--limit N (keys listed in text, default 50)]\n"
            + "       flink-mamba savepoint upgrade PATH --model DIR --policy replay|reset|carry --out NEWPATH "
            + "[--version LABEL (default: the model directory's name)] [--uid UID] "
            + "[--replay-window W (default: keep each key's buffer)] [--anomaly-window N (default 3)]";

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length >= 2 && args[0].equals("upgrade")) {
            return upgrade(args, out, err);
        }
        if (args.length < 2 || !args[0].equals("inspect")) {
            err.println(USAGE);
            return 2;
        }
        String path = args[1];
        String uid = "mamba-scoring";
        String keyType = "string";
        boolean json = false;
        int limit = 50;
        try {
            for (int i = 2; i < args.length; i++) {
                switch (args[i]) {
                    case "--uid": uid = args[++i]; break;
                    case "--key-type": keyType = args[++i]; break;
                    case "--json": json = true; break;
                    case "--limit": limit = Integer.parseInt(args[++i]); break;
                    default: throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            SavepointInspector.keyType(keyType);
        } catch (RuntimeException e) {
            err.println("flink-mamba savepoint: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        List<KeyReport> keys;
        try {
            keys = SavepointInspector.inspect(path, uid, keyType);
        } catch (Exception e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            err.println("flink-mamba savepoint: cannot read operator '" + uid + "' from " + path + ": " + e.getMessage()
                    + (root != e ? " (cause: " + root + ")" : ""));
            return 1;
        }
        if (json) {
            printJson(keys, uid, path, out);
        } else {
            printText(keys, uid, path, limit, out);
        }
        return 0;
    }

    static int upgrade(String[] args, PrintStream out, PrintStream err) {
        String path = args[1];
        String uid = "mamba-scoring";
        String model = null;
        String version = null;
        String target = null;
        UpgradePolicy policy = null;
        int replayWindow = -1;
        int anomalyWindow = 3;
        try {
            for (int i = 2; i < args.length; i++) {
                switch (args[i]) {
                    case "--uid": uid = args[++i]; break;
                    case "--model": model = args[++i]; break;
                    case "--version": version = args[++i]; break;
                    case "--out": target = args[++i]; break;
                    case "--policy": policy = UpgradePolicy.valueOf(args[++i].toUpperCase(Locale.ROOT)); break;
                    case "--replay-window": replayWindow = Integer.parseInt(args[++i]); break;
                    case "--anomaly-window": anomalyWindow = Integer.parseInt(args[++i]); break;
                    default: throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (model == null || target == null || policy == null) {
                throw new IllegalArgumentException("--model, --policy and --out are required");
            }
            if (policy == UpgradePolicy.FAIL) {
                throw new IllegalArgumentException("--policy must be replay, reset or carry");
            }
        } catch (RuntimeException e) {
            err.println("flink-mamba savepoint: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        if (version == null) {
            version = Paths.get(model).toAbsolutePath().normalize().getFileName().toString();
        }
        try {
            List<KeyReport> old = SavepointInspector.inspect(path, uid, "string");
            int before = old.size();
            if (policy == UpgradePolicy.CARRY) {
                // checked here, before the job: a failure inside the State Processor API job loses its reason
                StateRebuilder rb = StateRebuilder.load(Paths.get(model), version, replayWindow,
                        CalibrationSettings.DEFAULT.withShortWindow(anomalyWindow));
                int[] shape = rb.stateShape();
                for (KeyReport r : old) {
                    if (r.stateFloats != shape[0] || r.forecastFeatures != shape[1]) {
                        err.println("flink-mamba savepoint upgrade: CARRY refused for key " + r.key + ": its state has "
                                + r.stateFloats + " backbone state floats and " + r.forecastFeatures + " forecaster features, "
                                + model + " needs " + shape[0] + " and " + shape[1] + " (use replay or reset)");
                        return 1;
                    }
                }
            }
            SavepointUpgrader.upgrade(path, uid, model, version, policy, replayWindow, anomalyWindow, target);
            List<KeyReport> keys = SavepointInspector.inspect(target, uid, "string");
            if (keys.size() != before) { // never hand out a savepoint that silently lost keys
                err.println("flink-mamba savepoint upgrade: " + target + " holds " + keys.size() + " keys of operator '"
                        + uid + "' but " + path + " held " + before + "; do not use it");
                return 1;
            }
            out.println("wrote " + target + ": operator '" + uid + "' upgraded to " + version + " by " + policy);
            printText(keys, uid, target, 10, out);
            return 0;
        } catch (Exception e) {
            err.println("flink-mamba savepoint upgrade: " + rootMessage(e));
            return 1;
        }
    }

    /** The deepest cause's message: a failed local job wraps the reason (FAIL, CARRY refused) several times. */
    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (cause: " + root.getMessage() + ")";
    }

    static void printText(List<KeyReport> keys, String uid, String path, int limit, PrintStream out) {
        out.println("savepoint " + path + ", operator '" + uid + "': " + keys.size() + " keys");
        Map<String, long[]> byModel = new TreeMap<>();
        long bytes = 0, replay = 0, pending = 0, held = 0;
        for (KeyReport r : keys) {
            long[] agg = byModel.computeIfAbsent(r.modelVersion + " " + r.modelFingerprint, k -> new long[2]);
            agg[0]++;
            agg[1] += r.stateBytes;
            bytes += r.stateBytes;
            replay += r.replayEvents;
            pending += r.pendingEvents;
            held += r.heldEvents;
        }
        out.println("models (version fingerprint: keys, state bytes):");
        for (Map.Entry<String, long[]> e : byModel.entrySet()) {
            out.println("  " + e.getKey() + ": " + e.getValue()[0] + " keys, " + e.getValue()[1] + " bytes");
        }
        out.println("state bytes " + bytes + ", replay-buffered events " + replay + ", micro-batch pending events "
                + pending + ", event-time held events " + held);
        out.println(String.format("%-24s %-12s %-18s %10s %10s %14s %8s %8s", "key", "version", "fingerprint",
                "eventsSeen", "stateBytes", "replay", "pending", "held"));
        for (KeyReport r : keys.subList(0, Math.min(limit, keys.size()))) {
            out.println(String.format("%-24s %-12s %-18s %10d %10d %14s %8d %8d", r.key, r.modelVersion,
                    shortFingerprint(r.modelFingerprint), r.eventsSeen, r.stateBytes, r.replayEvents + "/" + r.replayCapacity,
                    r.pendingEvents, r.heldEvents));
        }
        if (keys.size() > limit) {
            out.println("... " + (keys.size() - limit) + " more keys (--limit N, or --json for all)");
        }
    }

    /** The table shows 16 hex digits; the summary above it and --json the full fingerprint. */
    static String shortFingerprint(String f) {
        return f == null || f.length() <= 16 ? String.valueOf(f) : f.substring(0, 16);
    }

    static void printJson(List<KeyReport> keys, String uid, String path, PrintStream out) {
        List<String> rows = new ArrayList<>(keys.size());
        for (KeyReport r : keys) {
            rows.add("{\"key\":" + str(r.key) + ",\"modelVersion\":" + str(r.modelVersion) + ",\"modelFingerprint\":"
                    + str(r.modelFingerprint) + ",\"eventsSeen\":" + r.eventsSeen + ",\"stateBytes\":" + r.stateBytes
                    + ",\"stateFloats\":" + r.stateFloats + ",\"forecastFeatures\":" + r.forecastFeatures
                    + ",\"replayEvents\":" + r.replayEvents + ",\"replayCapacity\":" + r.replayCapacity
                    + ",\"pendingEvents\":" + r.pendingEvents + ",\"heldEvents\":" + r.heldEvents + "}");
        }
        out.println("{\"savepoint\":" + str(path) + ",\"uid\":" + str(uid) + ",\"keys\":[" + String.join(",", rows) + "]}");
    }

    /** A JSON string literal (or null). */
    static String str(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
