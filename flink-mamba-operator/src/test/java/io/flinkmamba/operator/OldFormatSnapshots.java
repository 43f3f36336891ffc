package io.flinkmamba.operator;

import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/**
 * Committed operator snapshots of an older key-state format, restored by {@code StateFormatMigrationTest}.
 * The snapshots were written by {@link #writeSnapshots} with the code of the format they hold; run it
 * again only when adding a snapshot of a new format (see src/test/resources/snapshots/README.md):
 *
 * <pre>mvn -B -o test -pl flink-mamba-operator -am -Dtest=OldFormatSnapshots -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dflinkmamba.writeSnapshots=$PWD/flink-mamba-operator/src/test/resources/snapshots</pre>
 */
class OldFormatSnapshots {
    /** Events before the snapshot (the rest of the stream is scored after the restore). */
    static final int BEFORE = 300;
    static final int KEYS = 5;
    static final long SEED = 17;
    /** Both snapshots hold the state of the operator with the fixtures' default models (seeds 7 and 21). */
    static final String SCORE = "key-state-format2-score.snapshot";
    static final String ANOMALY = "key-state-format2-anomaly.snapshot";

    static List<TestEvent> scoreEvents() {
        return Fixture.events(KEYS, 2 * BEFORE, SEED);
    }

    static List<TestEvent> anomalyEvents() {
        return ForecasterFixture.events(KEYS, 2 * BEFORE, SEED);
    }

    static OperatorSubtaskState read(String name) throws Exception {
        Path p = Paths.get(OldFormatSnapshots.class.getResource("/snapshots/" + name).toURI());
        return OperatorSnapshotUtil.readStateHandle(p.toString());
    }

    @TempDir
    Path tmp;

    @Test
    @EnabledIfSystemProperty(named = "flinkmamba.writeSnapshots", matches = ".+")
    void writeSnapshots() throws Exception {
        Path out = Paths.get(System.getProperty("flinkmamba.writeSnapshots"));
        Files.createDirectories(out);
        Fixture fx = new Fixture(tmp);
        try (KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>> h =
                     Fixture.harness(fx.spec().build(), null)) {
            h.open();
            for (TestEvent e : scoreEvents().subList(0, BEFORE)) {
                h.processElement(e, e.time);
            }
            OperatorSnapshotUtil.writeStateHandle(h.snapshot(1, 1), out.resolve(SCORE).toString());
        }
        ForecasterFixture ffx = new ForecasterFixture(tmp);
        try (KeyedOneInputStreamOperatorTestHarness<String, TestEvent, AnomalyScore<String>> h =
                     ForecasterFixture.harness(ffx.spec().build(), null)) {
            h.open();
            for (TestEvent e : anomalyEvents().subList(0, BEFORE)) {
                h.processElement(e, e.time);
            }
            OperatorSnapshotUtil.writeStateHandle(h.snapshot(1, 1), out.resolve(ANOMALY).toString());
        }
    }
}
