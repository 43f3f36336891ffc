package io.flinkmamba.examples.jobs;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.examples.cli.ModelUpdateCommand;
import io.flinkmamba.operator.ModelFiles;
import io.flinkmamba.operator.ModelUpdate;
import io.flinkmamba.operator.ModelUpdateOutcome;
import io.flinkmamba.operator.UpgradePolicy;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamEdge;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.apache.flink.streaming.runtime.partitioner.BroadcastPartitioner;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The anomaly jobs' model-updates topic: option, job graph, record conversion, refusals as dead letters, the publish command. */
class ModelUpdateRecordsTest {
    private static final Path MODEL = Path.of("..", "models", "general-univariate");

    @Test
    void theOptionAddsABroadcastSecondInputToTheScorer() throws Exception {
        JobConfig none = JobConfig.fromArgs(new String[] {"--bootstrap", "b:9092", "--input-topic", "in"}, SensorAnomalyJob.DEFAULT_MODEL);
        assertNull(none.modelUpdatesTopic());
        JobConfig c = JobConfig.fromArgs(new String[] {"--bootstrap", "b:9092", "--input-topic", "in", "--output-topic", "out",
                "--dead-letter-topic", "dlq", "--model-updates-topic", "model-updates"}, SensorAnomalyJob.DEFAULT_MODEL);
        assertEquals("model-updates", c.modelUpdatesTopic());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(c.configuration());
        SensorAnomalyJob.build(env, c);
        StreamGraph graph = env.getStreamGraph();
        StreamNode scorer = graph.getStreamNodes().stream().filter(n -> n.getOperatorName().equals("anomaly scoring"))
                .findFirst().orElseThrow();
        List<StreamEdge> in = scorer.getInEdges();
        assertEquals(2, in.size(), "events and model updates");
        assertTrue(in.stream().anyMatch(e -> e.getPartitioner() instanceof BroadcastPartitioner), "updates are broadcast");
        assertTrue(graph.getStreamNodes().stream().anyMatch(n -> n.getOperatorName().contains("model-update-refusals")));
    }

    @Test
    void recordsBecomeOperatorUpdatesAndUnknownPoliciesDeadLetters() throws Exception {
        ModelUpdateRecords.ToOperatorUpdate fn = new ModelUpdateRecords.ToOperatorUpdate("model-updates");
        List<ModelUpdate> out = new ArrayList<>();
        List<DeadLetter> dead = new ArrayList<>();
        var ctx = fn.new Context() {
            @Override
            public Long timestamp() {
                return null;
            }

            @Override
            public TimerService timerService() {
                throw new UnsupportedOperationException();
            }

            @Override
            @SuppressWarnings("unchecked")
            public <X> void output(OutputTag<X> tag, X value) {
                dead.add((DeadLetter) value);
            }
        };
        io.flinkmamba.connectors.avro.ModelUpdate r = ModelUpdateCommand.record(MODEL, "v2", "replay", "s3://b/m");
        fn.processElement(r, ctx, new ListCollector<>(out));
        r.setPolicy(null);
        fn.processElement(r, ctx, new ListCollector<>(out));
        r.setPolicy("sideways");
        fn.processElement(r, ctx, new ListCollector<>(out));
        assertEquals(2, out.size());
        assertEquals(new ModelUpdate("s3://b/m", ModelFiles.digest(MODEL), "v2", UpgradePolicy.REPLAY), out.get(0));
        assertNull(out.get(1).policy);
        assertEquals(1, dead.size());
        assertTrue(dead.get(0).getReason().contains("unknown policy 'sideways'"), dead.get(0).getReason());
        assertEquals("model-updates", dead.get(0).getTopic());
    }

    @Test
    void refusalsAreDeadLettersWithTheReason() {
        ModelUpdateOutcome o = new ModelUpdateOutcome();
        o.subtask = 1;
        o.version = "v3";
        o.previousVersion = "v2";
        o.reason = "sha256 mismatch: ...";
        DeadLetter d = ModelUpdateRecords.refusal(o, "model-updates");
        assertEquals("model update v3 refused by subtask 1 (still scoring with v2): sha256 mismatch: ...", d.getReason());
        assertTrue(StandardCharsets.UTF_8.decode(d.getValue()).toString().contains("subtask=1"));
    }

    @Test
    void thePublishCommandsRecordNamesTheFilesOnDisk() throws Exception {
        io.flinkmamba.connectors.avro.ModelUpdate r = ModelUpdateCommand.record(MODEL, "gu-2", "Carry", null);
        assertEquals(MODEL.toAbsolutePath().toString(), r.getModelUri());
        assertEquals(ModelFiles.digest(MODEL), r.getSha256());
        assertEquals("CARRY", r.getPolicy());
        assertEquals(r, AvroRecordCodec.of(io.flinkmamba.connectors.avro.ModelUpdate.class).decode(ModelUpdateCommand.encode(r)));
        assertThrows(IllegalArgumentException.class, () -> ModelUpdateCommand.record(MODEL, "gu-2", "sideways", null));
        assertThrows(java.io.IOException.class, () -> ModelUpdateCommand.record(Path.of("no-such-dir"), "x", null, null));
    }
}
