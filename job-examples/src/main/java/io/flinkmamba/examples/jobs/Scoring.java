package io.flinkmamba.examples.jobs;

import io.flinkmamba.operator.AnomalyScore;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaSpec;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The one place where the jobs, the demo and the score command call the anomaly scorer
 * ({@link MambaOperators#scoreAnomalies}: the forecaster model at {@code spec.modelPath()}, options
 * {@code mamba.*} from the job's configuration). Rejected events leave on {@link MambaOperators#REJECTED}.
 */
public final class Scoring {
    private Scoring() {
    }

    public static <IN> SingleOutputStreamOperator<AnomalyScore<String>> scoreAnomalies(
            KeyedStream<IN, String> stream, MambaSpec<IN> spec) {
        return MambaOperators.scoreAnomalies(stream, spec);
    }
}
