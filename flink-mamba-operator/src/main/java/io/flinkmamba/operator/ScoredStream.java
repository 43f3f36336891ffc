package io.flinkmamba.operator;

import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/** The scores of a keyed stream and the events that were rejected (with the reason). */
public final class ScoredStream<K, IN> {
    private final SingleOutputStreamOperator<MambaScore<K>> scores;
    private final DataStream<RejectedEvent<IN>> rejected;

    ScoredStream(SingleOutputStreamOperator<MambaScore<K>> scores, DataStream<RejectedEvent<IN>> rejected) {
        this.scores = scores;
        this.rejected = rejected;
    }

    /** The scores; the operator's uid is {@link MambaOperators#DEFAULT_UID} unless you set another. */
    public SingleOutputStreamOperator<MambaScore<K>> scores() {
        return scores;
    }

    /** Events not applied: bad features, late events. Route them somewhere: nothing is dropped silently. */
    public DataStream<RejectedEvent<IN>> rejected() {
        return rejected;
    }
}
