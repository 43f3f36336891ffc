package io.flinkmamba.examples.demo;

import io.flinkmamba.connectors.DeadLetterSerializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** Counts the committed dead letters of the run by reason (from the {@code dlq.reason} header), on its own thread. */
final class DeadLetterCounter implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, Integer> byReason = new TreeMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    DeadLetterCounter(String bootstrap, String topic) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none"); // deleted records fail the reader (see ScoreCollector)
        consumer = new KafkaConsumer<>(config);
        List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                .map(p -> new TopicPartition(topic, p.partition())).collect(Collectors.toList());
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        thread = new Thread(this::poll, "demo-dead-letter-reader");
        thread.setDaemon(true);
        thread.start();
    }

    private void poll() {
        try {
            while (running) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    Header h = r.headers().lastHeader(DeadLetterSerializer.REASON_HEADER);
                    String reason = h == null ? "(no reason header)" : new String(h.value(), StandardCharsets.UTF_8);
                    // group by the reason's first clause: numbers and values differ from record to record
                    String kind = reason.length() > 60 ? reason.substring(0, 60) + "..." : reason;
                    synchronized (byReason) {
                        byReason.merge(kind, 1, Integer::sum);
                    }
                }
            }
        } catch (RuntimeException e) {
            System.err.println("[demo] reading the dead letters failed: " + e);
        }
    }

    int count() {
        synchronized (byReason) {
            return byReason.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    Map<String, Integer> byReason() {
        synchronized (byReason) {
            return new TreeMap<>(byReason);
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(10_000);
        consumer.close();
    }
}
