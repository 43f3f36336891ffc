package io.flinkmamba.examples.jobs;

import io.flinkmamba.operator.AnomalyScore;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaSpec;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The one place where the jobs, the demo and the score command call the anomaly scorer. Rejected
 * events leave on {@link MambaOperators#REJECTED}.
 *
 * <p>INTERIM: until the forecaster operator ({@code MambaOperators.scoreAnomalies}) is merged, this
 * calls {@link BaselineScorer}, which follows the same contract with a forecast of "the key's running
 * mean" instead of the Mamba forecaster. Replacing the body with
 * {@code return MambaOperators.scoreAnomalies(stream, spec);} is the whole switch.
 */
public final class Scoring {
    private Scoring() {
    }

    public static <IN> SingleOutputStreamOperator<AnomalyScore<String>> scoreAnomalies(
            KeyedStream<IN, String> stream, MambaSpec<IN> spec) {
        return BaselineScorer.apply(stream, spec);
    }
}
