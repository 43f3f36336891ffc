package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static io.flinkmamba.operator.Fixture.harness;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** open() failures, device selection and what happens when the model under a key's state changes. */
class OperatorLifecycleTest {
    @TempDir
    static Path tmp;
    static Fixture fx;

    @BeforeAll
    static void writeModel() throws Exception {
        fx = new Fixture(tmp);
    }

    private static String messages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    @Test
    void aModelThatCannotBeLoadedFailsOpenNamingThePathAndTheCause() throws Exception {
        Path missing = tmp.resolve("no-such-model");
        var h = harness(MambaSpec.builder(missing.toString(), "v9", new TestEvent.Extractor()).build(), null);
        Exception e = assertThrows(Exception.class, h::open);
        String m = messages(e);
        assertTrue(m.contains("cannot load the model from '" + missing + "'"), m);
        assertTrue(m.contains("not a model directory"), m);
    }

    @Test
    void aCorruptCheckpointFailsOpenWithTheLoadersReason() throws Exception {
        Path broken = tmp.resolve("broken");
        Files.createDirectories(broken);
        Files.copy(fx.modelDir.resolve("config.json"), broken.resolve("config.json"));
        Files.write(broken.resolve("model.safetensors"), new byte[] {1, 2, 3});
        var h = harness(MambaSpec.builder(broken.toString(), "v9", new TestEvent.Extractor()).build(), null);
        String m = messages(assertThrows(Exception.class, h::open));
        assertTrue(m.contains("cannot load the model from '" + broken + "'"), m);
        assertTrue(m.contains("shorter than the 8-byte header length"), m);
    }

    @Test
    void gpuWithoutAGpuImplementationFailsOpenClearly() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(io.flinkmamba.kernels.gpu.GpuDevices.probe().available(), "this machine has a GPU");
        var h = harness(fx.spec().mode(ScoringMode.MICRO_BATCH).device("gpu").build(), null);
        String m = messages(assertThrows(Exception.class, h::open));
        assertTrue(m.contains("mamba.device=gpu: the 'gpu' implementation is not available on this machine: "), m);
    }

    @Test
    void autoFallsBackToTheCpu() throws Exception {
        var h = harness(fx.spec().mode(ScoringMode.MICRO_BATCH).device("auto").batchMaxEvents(4).build(), null);
        h.open();
        List<TestEvent> events = Fixture.events(2, 8, 1);
        for (TestEvent e : events) {
            h.processElement(e, e.time);
        }
        fx.assertOutputsMatch(fx.reference(events), h.extractOutputValues(), MambaScoringOperatorTest.BATCH_TOL);
        h.close();
    }

    @Test
    void anUnexpectedStateBackendFailsOpen() throws Exception {
        var h = harness(fx.spec().expectedStateBackend("rocksdb").build(), new HashMapStateBackend());
        String m = messages(Fixture.assertUnrecoverable(h::open));
        assertTrue(m.contains("mamba.state.expected-backend=rocksdb but the job's keyed state backend is HeapKeyedStateBackend"), m);
    }

    private OperatorSubtaskState stateWrittenByTheFixtureModel(List<TestEvent> events) throws Exception {
        var h = harness(fx.spec().build(), null);
        h.open();
        for (TestEvent e : events) {
            h.processElement(e, e.time);
        }
        OperatorSubtaskState s = h.snapshot(1, 1);
        h.close();
        return s;
    }

    @Test
    void aNewModelResetsKeysWrittenByTheOldOneByDefault() throws Exception {
        List<TestEvent> events = Fixture.events(3, 30, 2);
        OperatorSubtaskState old = stateWrittenByTheFixtureModel(events.subList(0, 15));
        Path otherDir = RandomCheckpoint.write(tmp.resolve("other"), Fixture.CONFIG, 99);
        MambaModel other = MambaModel.load(otherDir);
        var h = harness(MambaSpec.builder(otherDir.toString(), "v2", new TestEvent.Extractor()).build(), null);
        h.initializeState(old);
        h.open();
        TestEvent e = events.get(15);
        h.processElement(e, e.time);
        MambaScore<String> s = h.extractOutputValues().get(0);
        assertEquals(1, s.eventsSeen, "the key starts afresh");
        assertEquals(other.fingerprint(), s.modelFingerprint);
        float[] expected = new float[Fixture.D];
        other.newStepper().step(other.newState(), e.features, expected);
        Fixture.assertClose(expected, s.output, Fixture.STEP_TOL, "output from a fresh state of the new model");
        h.close();
    }

    @Test
    void aNewModelCanBeMadeToFail() throws Exception {
        List<TestEvent> events = Fixture.events(3, 30, 3);
        OperatorSubtaskState old = stateWrittenByTheFixtureModel(events.subList(0, 15));
        Path otherDir = RandomCheckpoint.write(tmp.resolve("other2"), Fixture.CONFIG, 98);
        var h = harness(MambaSpec.builder(otherDir.toString(), "v2", new TestEvent.Extractor())
                .onModelChange(ModelChangePolicy.FAIL).build(), null);
        h.initializeState(old);
        h.open();
        TestEvent e = events.get(15);
        String m = messages(Fixture.assertUnrecoverable(() -> h.processElement(e, e.time)));
        assertTrue(m.contains("the state of key " + e.key + " was written by model " + fx.model.fingerprint()), m);
        h.close();
    }

    @Test
    void microBatchEventsRestoredIntoAPerEventJobAreScored() throws Exception {
        List<TestEvent> events = Fixture.events(4, 40, 4);
        var batched = harness(fx.spec().mode(ScoringMode.MICRO_BATCH).batchMaxEvents(1000)
                .batchMaxDelay(Duration.ofHours(1)).build(), null);
        batched.open();
        for (TestEvent e : events.subList(0, 20)) {
            batched.processElement(e, e.time);
        }
        OperatorSubtaskState pending = batched.snapshot(1, 1);
        batched.close();
        var perEvent = harness(fx.spec().build(), null);
        perEvent.initializeState(pending);
        perEvent.open();
        for (TestEvent e : events.subList(20, 40)) {
            perEvent.processElement(e, e.time);
        }
        fx.assertOutputsMatch(fx.reference(events), perEvent.extractOutputValues(), Fixture.STEP_TOL);
        perEvent.close();
    }
}
