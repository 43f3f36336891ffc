package io.flinkmamba.examples.demo;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.DecodingException;
import io.flinkmamba.connectors.avro.AnomalyScore;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Reads a topic of {@code AnomalyScore} records from the beginning with {@code read_committed} (only
 * what the exactly-once sink committed), on its own thread, keeping every score.
 */
public final class ScoreCollector implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final AvroRecordCodec<AnomalyScore> codec = AvroRecordCodec.of(AnomalyScore.class);
    private final List<AnomalyScore> scores = new ArrayList<>();
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong anomalies = new AtomicLong();
    private final AtomicLong undecodable = new AtomicLong();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile RuntimeException failure;

    ScoreCollector(String bootstrap, String topic) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // Records deleted before this reader got to them (retention) fail the reader instead of
        // making it jump to the end (the default reset, "latest") and silently skip what is left.
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        consumer = new KafkaConsumer<>(config);
        List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                .map(p -> new TopicPartition(topic, p.partition())).collect(Collectors.toList());
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        thread = new Thread(this::poll, "demo-score-reader");
        thread.setDaemon(true);
        thread.start();
    }

    private void poll() {
        try {
            pollUntilClosed();
        } catch (RuntimeException e) {
            failure = e;
            System.err.println("[demo] reading the scores failed: " + e);
        }
    }

    private void pollUntilClosed() {
        while (running) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                try {
                    AnomalyScore score = codec.decode(record.value());
                    synchronized (scores) {
                        scores.add(score);
                    }
                    if (score.getIsAnomaly()) {
                        anomalies.incrementAndGet();
                    }
                    count.incrementAndGet();
                } catch (DecodingException e) {
                    undecodable.incrementAndGet();
                }
            }
        }
    }

    long count() { return count.get(); }
    long anomalies() { return anomalies.get(); }
    long undecodable() { return undecodable.get(); }

    /**
     * Per partition: the log start offset, the end offset for read_committed (the last stable offset)
     * and for read_uncommitted.
     */
    public static String offsets(String bootstrap, String topic) {
        StringBuilder sb = new StringBuilder();
        for (String isolation : new String[] {"read_committed", "read_uncommitted"}) {
            Map<String, Object> config = new HashMap<>();
            config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
            config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
            config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(config)) {
                List<TopicPartition> partitions = c.partitionsFor(topic).stream()
                        .map(p -> new TopicPartition(topic, p.partition())).collect(Collectors.toList());
                if (isolation.equals("read_committed")) {
                    // above 0: the broker deleted records from the start (retention), read or not
                    sb.append("log start offsets ").append(byPartition(c.beginningOffsets(partitions))).append("; ");
                }
                sb.append(isolation).append(" end offsets ").append(byPartition(c.endOffsets(partitions))).append("; ");
            }
        }
        return sb.toString();
    }

    private static Map<Integer, Long> byPartition(Map<TopicPartition, Long> offsets) {
        return new java.util.TreeMap<>(offsets.entrySet().stream()
                .collect(Collectors.toMap(e -> e.getKey().partition(), Map.Entry::getValue)));
    }

    RuntimeException failure() { return failure; }

    List<AnomalyScore> scores() {
        synchronized (scores) {
            return new ArrayList<>(scores);
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(10_000);
        consumer.close();
    }
}
