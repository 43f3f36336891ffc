package io.flinkmamba.examples.jobs;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.DeadLetterSplitter;
import io.flinkmamba.connectors.avro.TradeTick;
import io.flinkmamba.operator.FeatureExtractor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Scores trade ticks from Kafka per symbol with the trade forecaster (features: log return of the
 * price, log of the size; see {@link TradeFeatures} for the first tick and for ticks without a
 * logarithm) and writes an {@code AnomalyScore} per tick, exactly once; the input of each score is
 * {@code [logReturn, logSize]}. Options as {@link SensorAnomalyJob} ({@link JobConfig}).
 *
 * <pre>
 * flink run -c io.flinkmamba.examples.jobs.TradeAnomalyJob flink-mamba-job-examples-*-job.jar --model /models/trade \
 *   --kafka.bootstrap-servers broker:9092 --kafka.input-topic trades --kafka.output-topic trade-scores \
 *   --kafka.dead-letter-topic trades-dlq --kafka.group-id trade-scorer
 * </pre>
 */
public final class TradeAnomalyJob {
    public static final String DEFAULT_MODEL = "models/trade";

    private TradeAnomalyJob() {
    }

    public static void main(String[] args) throws Exception {
        JobConfig config = JobConfig.fromArgs(args, DEFAULT_MODEL);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config.configuration());
        env.setParallelism(config.parallelism());
        build(env, config);
        env.execute("flink-mamba trade anomalies");
    }

    public static void build(StreamExecutionEnvironment env, JobConfig config) {
        AnomalyPipeline.build(env, config, AvroRecordCodec.of(TradeTick.class), TradeTick::getEventTimeMillis,
                (records, topic) -> {
                    SingleOutputStreamOperator<TradeFeature> features = records
                            .keyBy(TradeTick::getSymbol, Types.STRING)
                            .process(new TradeFeatures(topic), TypeInformation.of(TradeFeature.class))
                            .name("trade-features").uid("trade-features");
                    return new AnomalyPipeline.FeatureStep.Result<>(
                            features.keyBy(f -> f.symbol, Types.STRING),
                            features.getSideOutput(DeadLetterSplitter.DEAD_LETTERS));
                },
                new Features(), "trades");
    }

    static final class Features implements FeatureExtractor<TradeFeature> {
        private static final long serialVersionUID = 1L;

        @Override
        public float[] features(TradeFeature f) {
            return new float[] {(float) f.logReturn, (float) f.logSize};
        }

        @Override
        public long eventTime(TradeFeature f, long recordTimestamp) {
            return f.eventTime;
        }
    }
}
