package io.flinkmamba.operator;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

import java.util.function.LongSupplier;

/** The operator's metrics, registered in the operator's metric group (names do not clash with Flink's numRecords*). */
final class OperatorMetrics {
    private static final int HISTOGRAM_WINDOW = 1024;

    final Counter eventsScored;
    final Counter eventsRejected;
    final Counter eventsLate;
    final Counter flushes;
    final Counter stateResets;
    /** Keys whose state another model wrote, kept as is (CARRY) or rebuilt from the replay buffer (REPLAY). */
    final Counter stateCarries;
    final Counter stateReplays;
    /** Events per micro-batch flush. */
    final Histogram batchSize;
    /** Keys per micro-batch flush. */
    final Histogram batchKeys;
    /** Wall time of a flush (gather, forward, write back, emit), microseconds. */
    final Histogram flushLatencyMicros;

    private final LongSupplier stateBytesPerKeySource;
    /** Cached: the state size changes only with the model (hot swap). */
    private long stateBytesPerKey;

    OperatorMetrics(MetricGroup operatorGroup, LongSupplier stateBytesPerKey, LongSupplier pendingEvents) {
        this.stateBytesPerKeySource = stateBytesPerKey;
        this.stateBytesPerKey = stateBytesPerKey.getAsLong();
        MetricGroup g = operatorGroup;
        eventsScored = g.counter("eventsScored");
        eventsRejected = g.counter("eventsRejected");
        eventsLate = g.counter("eventsLate");
        flushes = g.counter("flushes");
        stateResets = g.counter("stateResets");
        stateCarries = g.counter("stateCarries");
        stateReplays = g.counter("stateReplays");
        batchSize = g.histogram("batchSize", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        batchKeys = g.histogram("batchKeys", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        flushLatencyMicros = g.histogram("flushLatencyMicros", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        g.gauge("stateBytesPerKey", (Gauge<Long>) () -> this.stateBytesPerKey);
        g.gauge("pendingEvents", (Gauge<Long>) pendingEvents::getAsLong);
    }

    /** After a hot swap: the new model's state size. */
    void stateBytesPerKeyChanged() {
        stateBytesPerKey = stateBytesPerKeySource.getAsLong();
    }
}
