package io.flinkmamba.examples.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.flink.configuration.CheckpointingOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

class JobConfigTest {
    private static final String[] KAFKA = {"--kafka.bootstrap-servers", "b:9092", "--kafka.input-topic", "in"};

    @Test
    void commandLineOverridesThePropertiesFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("job.properties");
        Files.writeString(file, String.join("\n",
                "kafka.bootstrap-servers = file:9092", "kafka.input-topic = from-file",
                "kafka.properties.security.protocol = SASL_SSL", "mode = micro-batch", "model = /m/file",
                "checkpoint-interval = 30s", "mamba.batch.max-events = 64"));
        JobConfig c = JobConfig.fromArgs(new String[] {"--config", file.toString(), "--model", "/m/cli",
                "--kafka.input-topic", "from-cli", "--device", "auto", "--parallelism", "3", "--threshold", "0.99"}, "default");
        assertEquals("/m/cli", c.model());
        assertEquals("cli", c.modelVersion());
        assertEquals("from-cli", c.kafka().inputTopic());
        assertEquals("file:9092", c.kafka().bootstrapServers());
        assertEquals("SASL_SSL", c.kafka().consumerProperties().getProperty("security.protocol"));
        assertEquals("MICRO_BATCH", c.configuration().toMap().get("mamba.mode"));
        assertEquals("auto", c.configuration().toMap().get("mamba.device"));
        assertEquals("0.99", c.configuration().toMap().get("mamba.anomaly.threshold"));
        assertEquals("64", c.configuration().toMap().get("mamba.batch.max-events"));
        assertEquals(Duration.ofSeconds(30), c.configuration().get(CheckpointingOptions.CHECKPOINTING_INTERVAL));
        assertEquals(3, c.parallelism());
        assertFalse(c.bounded());
    }

    @Test
    void defaults() throws Exception {
        JobConfig c = JobConfig.fromArgs(KAFKA, SensorAnomalyJob.DEFAULT_MODEL);
        assertEquals(SensorAnomalyJob.DEFAULT_MODEL, c.model());
        assertEquals("sensor-multivariate", c.modelVersion());
        assertEquals(Duration.ofSeconds(10), c.configuration().get(CheckpointingOptions.CHECKPOINTING_INTERVAL));
        assertEquals(Duration.ofSeconds(5), c.outOfOrderness());
        assertEquals(1, c.parallelism());
    }

    @Test
    void kafkaShorthandsAndDefaultGroup() throws Exception {
        JobConfig c = JobConfig.fromArgs(new String[] {"--bootstrap", "k:9092", "--input-topic", "in",
                "--output-topic", "out", "--dead-letter-topic", "dlq"}, "m");
        assertEquals("k:9092", c.kafka().bootstrapServers());
        assertEquals("in", c.kafka().inputTopic());
        assertEquals("out", c.kafka().outputTopic());
        assertEquals("dlq", c.kafka().deadLetterTopic());
        assertEquals(JobConfig.DEFAULT_GROUP_ID, c.kafka().groupId());
    }

    @Test
    void refusesWhatItDoesNotKnow() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JobConfig.fromArgs(concat(KAFKA, "--modle", "x"), "m"));
        assertTrue(e.getMessage().contains("unknown option --modle"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobConfig.fromArgs(concat(KAFKA, "--mode", "fast"), "m"));
        assertTrue(e.getMessage().contains("per-event or micro-batch"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobConfig.fromArgs(concat(KAFKA, "--threshold", "1.5"), "m"));
        assertTrue(e.getMessage().contains("(0, 1)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobConfig.fromArgs(concat(KAFKA, "--kafka.topic", "x"), "m"));
        assertTrue(e.getMessage().contains("unknown Kafka option kafka.topic"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobConfig.fromArgs(new String[] {"--model", "m"}, "m"));
        assertTrue(e.getMessage().contains("kafka.bootstrap-servers"), e.getMessage());
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
