package io.flinkmamba.sql;

import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.testing.RandomForecasters;
import io.flinkmamba.kernels.testing.RandomModels;
import io.flinkmamba.kernels.testing.RawSafetensors;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** Models on disk, the readings table and running SQL on the MiniCluster. */
final class SqlFixture {
    static final MambaConfig BLOCK_CONFIG = MambaConfig.of(4, 4, 2);
    static final String[] FEATURES = {"a", "b", "c", "d"};

    private SqlFixture() {
    }

    static final MambaConfig FORECASTER_BACKBONE = MambaConfig.of(8, 4, 2);

    /** A random forecaster directory (flink_mamba.kind = forecaster, version "random-test") over {@code features} features. */
    static Path forecaster(Path dir, int features) throws IOException {
        return RandomForecasters.write(dir, FORECASTER_BACKBONE, features, 11);
    }

    static Path blockModel(Path dir) throws IOException {
        RawSafetensors.writeCheckpoint(dir, RandomModels.tensors(BLOCK_CONFIG, 7), RawSafetensors.configJson(BLOCK_CONFIG));
        return dir;
    }

    /** Row type of the readings table: sensor_id STRING, ts BIGINT, then one DOUBLE column per feature. */
    static TypeInformation<Row> rowType(int features) {
        String[] names = new String[2 + features];
        TypeInformation<?>[] types = new TypeInformation<?>[2 + features];
        names[0] = "sensor_id";
        types[0] = Types.STRING;
        names[1] = "ts";
        types[1] = Types.LONG;
        for (int j = 0; j < features; j++) {
            names[2 + j] = FEATURES[j];
            types[2 + j] = Types.DOUBLE;
        }
        return Types.ROW_NAMED(names, types);
    }

    static Row toRow(Reading r) {
        Object[] f = new Object[2 + r.values.length];
        f[0] = r.key;
        f[1] = r.ts;
        System.arraycopy(r.values, 0, f, 2, r.values.length);
        return Row.of(f);
    }

    /** Registers the readings as temporary view {@code readings} (one source subtask, so each key's order holds). */
    static void registerReadings(StreamExecutionEnvironment env, StreamTableEnvironment tEnv, List<Reading> readings, int features) {
        List<Row> rows = readings.stream().map(SqlFixture::toRow).collect(Collectors.toList());
        Table t = tEnv.fromDataStream(env.fromData(rows, rowType(features)).setParallelism(1));
        tEnv.createTemporaryView("readings", t);
    }

    static String scoreQuery(Path model, int features, String extra) {
        StringBuilder cols = new StringBuilder();
        for (int j = 0; j < features; j++) {
            cols.append(j == 0 ? "" : ", ").append(FEATURES[j]);
        }
        return "SELECT * FROM MAMBA_SCORE(input => TABLE readings PARTITION BY sensor_id, model => '"
                + model.toUri() + "', features => DESCRIPTOR(" + cols + ")" + extra + ")";
    }

    static List<Row> collect(Table t) throws Exception {
        List<Row> out = new ArrayList<>();
        try (CloseableIterator<Row> it = t.execute().collect()) {
            it.forEachRemaining(out::add);
        }
        return out;
    }
}
