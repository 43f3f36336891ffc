package io.flinkmamba.operator;

import org.apache.flink.contrib.streaming.state.EmbeddedRocksDBStateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** mamba.state.ttl: an idle key's state expires and the key starts fresh; an active key's does not. */
class StateTtlTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"heap", "rocksdb"})
    void idleKeyStartsFreshActiveKeyContinues(String backendName) throws Exception {
        Fixture f = new Fixture(tmp);
        MambaSpec<TestEvent> spec = f.spec().set(MambaOptions.STATE_TTL, Duration.ofSeconds(10)).build();
        StateBackend backend = backendName.equals("heap") ? new HashMapStateBackend() : new EmbeddedRocksDBStateBackend();
        List<TestEvent> events = Fixture.events(1, 8, 3);
        try (var h = Fixture.harness(spec, backend)) {
            h.setStateTtlProcessingTime(0);
            h.open();
            for (int i = 0; i < 3; i++) {
                h.processElement(new StreamRecord<>(at("idle", events.get(i))));
                h.processElement(new StreamRecord<>(at("active", events.get(i))));
            }
            // "active" keeps writing every 6 s; "idle" is silent for 12 s (> 10 s TTL).
            h.setStateTtlProcessingTime(6_000);
            h.processElement(new StreamRecord<>(at("active", events.get(3))));
            h.setStateTtlProcessingTime(12_000);
            h.processElement(new StreamRecord<>(at("active", events.get(4))));
            h.processElement(new StreamRecord<>(at("idle", events.get(3))));

            List<MambaScore<String>> out = new ArrayList<>();
            for (Object o : h.getOutput()) {
                if (o instanceof StreamRecord) {
                    @SuppressWarnings("unchecked")
                    MambaScore<String> s = ((StreamRecord<MambaScore<String>>) o).getValue();
                    out.add(s);
                }
            }
            MambaScore<String> lastActive = out.get(out.size() - 2);
            MambaScore<String> lastIdle = out.get(out.size() - 1);
            assertEquals("active", lastActive.key);
            assertEquals(5, lastActive.eventsSeen, "an active key's state is refreshed by every write");
            assertEquals("idle", lastIdle.key);
            assertEquals(1, lastIdle.eventsSeen, "an idle key's expired state is gone: it starts fresh");
        }
    }

    private static TestEvent at(String key, TestEvent e) {
        return new TestEvent(key, e.time, e.features);
    }
}
