package io.flinkmamba.operator;

import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.OperatorStateStore;
import org.apache.flink.api.common.typeinfo.BasicTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * A subtask's hot-swap bookkeeping: the accepted update and the ones still loading (in broadcast
 * operator state, so a restored or rescaled job reloads the hot-swapped model), the background
 * loader, and the metrics. The switch itself is {@link KeyedMambaOperator}'s.
 */
final class ModelUpdates {
    /** Operator state name (public knowledge for savepoint tools): key 0 the accepted update, 1.. those still loading. */
    static final String STATE = "mamba-model-updates";
    private static final MapStateDescriptor<Integer, ModelUpdate> DESCRIPTOR =
            new MapStateDescriptor<>(STATE, BasicTypeInfo.INT_TYPE_INFO, TypeInformation.of(ModelUpdate.class));

    private final BroadcastState<Integer, ModelUpdate> state;
    /** The update the subtask scores with; null: the job's configured model. */
    ModelUpdate accepted;
    /** Received, not yet accepted or refused, in arrival order. */
    final List<ModelUpdate> loading = new ArrayList<>();
    private final ModelUpdate restoredAccepted;
    private final List<ModelUpdate> restoredLoading = new ArrayList<>();
    private ExecutorService loader;
    Counter applied;
    Counter refused;
    int subtask;

    ModelUpdates(OperatorStateStore store, boolean restored) throws Exception {
        state = store.getBroadcastState(DESCRIPTOR);
        ModelUpdate acc = null;
        if (restored) {
            List<Map.Entry<Integer, ModelUpdate>> entries = new ArrayList<>();
            state.entries().forEach(entries::add);
            entries.sort(Comparator.comparingInt(Map.Entry::getKey));
            for (Map.Entry<Integer, ModelUpdate> e : entries) {
                if (e.getKey() == 0) {
                    acc = e.getValue();
                } else {
                    restoredLoading.add(e.getValue());
                }
            }
        }
        restoredAccepted = acc;
        accepted = acc;
    }

    void open(MetricGroup group, int subtask) {
        this.subtask = subtask;
        applied = group.counter("modelUpdatesApplied");
        refused = group.counter("modelUpdatesRefused");
    }

    ModelUpdate restoredAccepted() {
        return restoredAccepted;
    }

    List<ModelUpdate> restoredLoading() {
        return restoredLoading;
    }

    /** Writes the bookkeeping to the broadcast state (after every change; the snapshot takes it from there). */
    void save() throws Exception {
        state.clear();
        if (accepted != null) {
            state.put(0, accepted);
        }
        for (int i = 0; i < loading.size(); i++) {
            state.put(i + 1, loading.get(i));
        }
    }

    /** One thread per subtask: updates load one after the other, in arrival order. */
    ExecutorService loader(String uid) {
        if (loader == null) {
            loader = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "mamba-model-loader-" + uid + "-" + subtask);
                t.setDaemon(true);
                return t;
            });
        }
        return loader;
    }

    void close() {
        if (loader != null) {
            loader.shutdownNow();
        }
    }

    /** Why an update cannot even be tried (null: it can). */
    static String invalidReason(ModelUpdate u) {
        if (u == null) {
            return "null update";
        }
        if (u.modelUri == null || u.modelUri.isBlank()) {
            return "no modelUri";
        }
        if (!ModelFiles.isSha256(u.sha256 == null ? null : u.sha256.trim())) {
            return "sha256 must be 64 hex digits, got '" + u.sha256 + "'";
        }
        if (u.version == null || u.version.isBlank()) {
            return "no version label";
        }
        return null;
    }

    /**
     * Fetches the update's files into a temporary directory, checks their digest against the
     * update's and loads them with {@code load}. Throws with the reason: missing or oversized files,
     * a digest mismatch, a model that cannot be loaded (corrupt, hostile, wrong shapes).
     */
    static <M> M fetchAndLoad(ModelUpdate u, Function<Path, M> load, long maxBytes) throws Exception {
        Path dir = Files.createTempDirectory("flink-mamba-model-");
        try {
            String digest;
            try {
                digest = ModelFiles.fetch(u.modelUri, dir, maxBytes);
            } catch (IOException e) {
                throw new IOException("cannot fetch the model: " + e.getMessage(), e);
            }
            String expected = ModelFiles.normalise(u.sha256);
            if (!digest.equals(expected)) {
                throw new SecurityException("sha256 mismatch: the update expects " + expected + ", the files at "
                        + u.modelUri + " have " + digest);
            }
            try {
                return load.apply(dir);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("cannot load the model: " + e.getMessage(), e);
            }
        } finally {
            deleteQuietly(dir);
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // a temporary directory left behind
        }
    }

    ModelUpdateOutcome outcome(ModelUpdate u, String fingerprint, String refusal, String previousVersion, UpgradePolicy policy) {
        ModelUpdateOutcome o = new ModelUpdateOutcome();
        o.subtask = subtask;
        o.accepted = refusal == null;
        o.reason = refusal;
        o.modelUri = u == null ? null : u.modelUri;
        o.version = u == null ? null : u.version;
        o.fingerprint = fingerprint;
        o.previousVersion = previousVersion;
        o.policy = policy;
        return o;
    }
}
