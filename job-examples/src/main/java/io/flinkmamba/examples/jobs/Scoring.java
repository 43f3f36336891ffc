package io.flinkmamba.examples.jobs;

import io.flinkmamba.operator.AnomalyScore;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaSpec;
import io.flinkmamba.operator.ModelUpdate;
import org.apache.flink.streaming.api.datastream.DataStream;
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

    /** With hot swap: {@code updates} replace the model while the job runs (results on {@link MambaOperators#MODEL_UPDATES}). */
    public static <IN> SingleOutputStreamOperator<AnomalyScore<String>> scoreAnomalies(
            KeyedStream<IN, String> stream, MambaSpec<IN> spec, DataStream<ModelUpdate> updates) {
        return updates == null ? MambaOperators.scoreAnomalies(stream, spec) : MambaOperators.scoreAnomalies(stream, spec, updates);
    }
}
