package io.flinkmamba.examples.cli;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.avro.ModelUpdate;
import io.flinkmamba.operator.ModelFiles;
import io.flinkmamba.operator.UpgradePolicy;
import org.apache.flink.util.ParameterTool;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;

/**
 * {@code flink-mamba model-update}: publishes a hot-swap request for a running anomaly job to its
 * {@code --model-updates-topic}. Computes the model directory's digest ({@link ModelFiles#digest})
 * so the request names exactly the files on disk.
 *
 * <pre>
 * flink-mamba model-update --model models/v2 --version v2 [--policy replay] [--uri s3://bucket/models/v2]
 *     --bootstrap host:9092 --topic model-updates        (or --dry-run: print the record only)
 * </pre>
 */
public final class ModelUpdateCommand {
    private ModelUpdateCommand() {
    }

    public static void main(String[] args) throws Exception {
        ParameterTool p = ParameterTool.fromArgs(args);
        try {
            ModelUpdate update = record(Path.of(p.getRequired("model")), p.getRequired("version"), p.get("policy"), p.get("uri"));
            System.out.println(update);
            if (p.has("dry-run")) {
                return;
            }
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, p.getRequired("bootstrap"));
            props.put(ProducerConfig.ACKS_CONFIG, "all");
            props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            p.toMap().forEach((k, v) -> {
                if (k.startsWith("kafka.properties.")) {
                    props.put(k.substring("kafka.properties.".length()), v);
                }
            });
            String topic = p.getRequired("topic");
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(topic, update.getVersion().getBytes(StandardCharsets.UTF_8), encode(update))).get();
            }
            System.out.println("sent to " + topic);
        } catch (RuntimeException | IOException e) {
            System.err.println("flink-mamba model-update: " + e.getMessage());
            System.exit(2);
        }
    }

    /**
     * The request for the model directory {@code dir} (digest computed here); {@code uri}: where the
     * TaskManagers read it (default: {@code dir}'s absolute path); {@code policy} null: the job's.
     */
    public static ModelUpdate record(Path dir, String version, String policy, String uri) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("no model directory " + dir);
        }
        String normalisedPolicy = null;
        if (policy != null) {
            normalisedPolicy = UpgradePolicy.valueOf(policy.trim().toUpperCase(Locale.ROOT)).name();
        }
        return ModelUpdate.newBuilder()
                .setModelUri(uri != null ? uri : dir.toAbsolutePath().toString())
                .setSha256(ModelFiles.digest(dir))
                .setVersion(version)
                .setPolicy(normalisedPolicy)
                .build();
    }

    /** The record's bytes on the topic: the connectors' Avro single-object encoding. */
    public static byte[] encode(ModelUpdate update) {
        return AvroRecordCodec.of(ModelUpdate.class).encode(update);
    }
}
