package io.flinkmamba.savepoint;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Reads the keyed state of a Mamba operator (by uid) from a savepoint or retained checkpoint with
 * Flink's State Processor API, in a local environment.
 */
public final class SavepointInspector {
    private SavepointInspector() {
    }

    /** Key types the tools can read: the job's key type must be the one its savepoint was written with. */
    static TypeInformation<?> keyType(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "string": return Types.STRING;
            case "long": return Types.LONG;
            case "int": return Types.INT;
            default: throw new IllegalArgumentException("--key-type must be string, long or int, got '" + name + "'");
        }
    }

    /** One report per key of operator {@code uid}, sorted by key. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static List<KeyReport> inspect(String savepointPath, String uid, String keyType) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.BATCH);
        env.setParallelism(1);
        SavepointReader reader = SavepointReader.read(env, savepointPath);
        List<KeyReport> out = new ArrayList<>();
        try (CloseableIterator<KeyReport> it = reader.readKeyedState(OperatorIdentifier.forUid(uid),
                new KeyStateReader(), (TypeInformation) keyType(keyType), TypeInformation.of(KeyReport.class))
                .executeAndCollect("flink-mamba savepoint inspect")) {
            it.forEachRemaining(out::add);
        }
        out.sort(Comparator.comparing(r -> r.key));
        return out;
    }
}
