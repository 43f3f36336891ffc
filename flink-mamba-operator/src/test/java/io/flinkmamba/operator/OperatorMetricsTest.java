package io.flinkmamba.operator;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.groups.OperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingOperatorMetricGroup;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OperatorMetricsTest {
    @TempDir
    Path tmp;

    @Test
    void countsScoredRejectedFlushesAndReportsBatchSizesAndStateBytes() throws Exception {
        Fixture fx = new Fixture(tmp);
        MambaSpec<TestEvent> spec = fx.spec().mode(ScoringMode.MICRO_BATCH).batchMaxEvents(10)
                .batchMaxDelay(Duration.ofHours(1)).build();
        // the harness gives operators an unregistered group: intercept at the operator instead
        InterceptingOperatorMetricGroup g = new InterceptingOperatorMetricGroup();
        var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new MambaScoringOperator<String, TestEvent>(spec, spec.resolve(new Configuration())) {
                    @Override
                    public OperatorMetricGroup getMetricGroup() {
                        return g;
                    }
                },
                (KeySelector<TestEvent, String>) e -> e.key, Types.STRING, 128, 1, 0);
        h.open();
        List<TestEvent> events = Fixture.events(4, 25, 1);
        for (TestEvent e : events) {
            h.processElement(e, e.time);
        }
        h.processElement(new TestEvent("k0", 1, new float[2]), 1);
        assertEquals(20, ((Counter) g.get("eventsScored")).getCount(), "two flushes of 10");
        assertEquals(5L, ((Gauge<?>) g.get("pendingEvents")).getValue());
        h.endInput();
        assertEquals(25, ((Counter) g.get("eventsScored")).getCount());
        assertEquals(1, ((Counter) g.get("eventsRejected")).getCount());
        assertEquals(3, ((Counter) g.get("flushes")).getCount());
        Histogram sizes = (Histogram) g.get("batchSize");
        assertEquals(3, sizes.getCount());
        assertEquals(10, sizes.getStatistics().getMax());
        assertEquals(5, sizes.getStatistics().getMin());
        assertEquals(3, ((Histogram) g.get("flushLatencyMicros")).getCount());
        long stateBytes = (Long) ((Gauge<?>) g.get("stateBytesPerKey")).getValue();
        assertTrue(stateBytes >= fx.model.stateBytes(), "at least the float32 state: " + stateBytes);
        h.close();
    }
}
