package io.flinkmamba.examples.jobs;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.avro.Measurement;
import io.flinkmamba.connectors.avro.SensorReading;
import io.flinkmamba.operator.FeatureExtractor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.util.List;

/**
 * Scores sensor readings from Kafka per stream ({@code streamId}) with a forecaster model and writes
 * an {@code AnomalyScore} per reading, exactly once; undecodable and rejected readings go to the
 * dead-letter topic with the reason. The features are the reading's measurements, in order.
 *
 * <pre>
 * flink run flink-mamba-job-examples-*-job.jar --model /models/sensor-multivariate \
 *   --kafka.bootstrap-servers broker:9092 --kafka.input-topic readings --kafka.output-topic scores \
 *   --kafka.dead-letter-topic readings-dlq --kafka.group-id sensor-scorer [--mode micro-batch] [--config job.properties]
 * </pre>
 */
public final class SensorAnomalyJob {
    public static final String DEFAULT_MODEL = "models/sensor-multivariate";

    private SensorAnomalyJob() {
    }

    public static void main(String[] args) throws Exception {
        JobConfig config = JobConfig.fromArgs(args, DEFAULT_MODEL);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config.configuration());
        env.setParallelism(config.parallelism());
        build(env, config);
        env.execute("flink-mamba sensor anomalies");
    }

    /** Adds the job to {@code env}. */
    public static void build(StreamExecutionEnvironment env, JobConfig config) {
        AnomalyPipeline.build(env, config, AvroRecordCodec.of(SensorReading.class),
                SensorReading::getEventTimeMillis,
                (records, topic) -> new AnomalyPipeline.FeatureStep.Result<>(
                        records.keyBy(SensorReading::getStreamId, Types.STRING), null),
                new Features(), "readings");
    }

    /** The measurements' values, in order; the reading's own event time. */
    static final class Features implements FeatureExtractor<SensorReading> {
        private static final long serialVersionUID = 1L;

        @Override
        public float[] features(SensorReading reading) {
            List<Measurement> measurements = reading.getMeasurements();
            float[] x = new float[measurements.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) measurements.get(i).getValue();
            }
            return x;
        }

        @Override
        public long eventTime(SensorReading reading, long recordTimestamp) {
            return reading.getEventTimeMillis();
        }
    }
}
