package io.flinkmamba.examples.generator;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.avro.Measurement;
import io.flinkmamba.connectors.avro.SensorReading;
import io.flinkmamba.connectors.avro.TradeTick;
import org.apache.flink.util.ParameterTool;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;

/**
 * Feeds a Kafka topic with the labelled generator's events (Avro {@code SensorReading} or
 * {@code TradeTick}, single-object encoding, keyed by stream), at a steady rate, and optionally writes
 * the ground truth (key, time, anomaly kind) of every anomalous event to a CSV file. What the
 * docker-compose deployment runs to give the sensor job something to score.
 *
 * <pre>
 * java -cp flink-mamba-job.jar io.flinkmamba.examples.generator.KafkaGenerator --bootstrap kafka:9092 \
 *   --topic sensor-readings [--family sensor|trade] [--keys 200] [--channels 3] [--rate 2000] \
 *   [--events-per-key 0 (= unbounded)] [--seed 1] [--labels labels.csv] [--kafka.properties.security.protocol ...]
 * </pre>
 */
public final class KafkaGenerator {
    /** The options it accepts (besides kafka.properties.*). */
    public static final Set<String> OPTIONS = Set.of("bootstrap", "topic", "family", "keys", "channels", "rate",
            "events-per-key", "seed", "labels");

    private KafkaGenerator() {
    }

    public static void main(String[] args) throws Exception {
        ParameterTool p = ParameterTool.fromArgs(args);
        for (String key : p.toMap().keySet()) {
            if (!OPTIONS.contains(key) && !key.startsWith("kafka.properties.")) {
                throw new IllegalArgumentException("unknown option --" + key + "; known: " + OPTIONS + " and kafka.properties.*");
            }
        }
        StreamGenerator.Family family = StreamGenerator.Family.valueOf(p.get("family", "sensor").toUpperCase(Locale.ROOT));
        int keys = p.getInt("keys", 200);
        int channels = family == StreamGenerator.Family.TRADE ? 2 : p.getInt("channels", 3);
        long eventsPerKey = p.getLong("events-per-key", 0);
        int rate = p.getInt("rate", 2000);
        if (rate < 1 || keys < 1) {
            throw new IllegalArgumentException("--rate and --keys must be >= 1");
        }
        StreamGenerator generator = new StreamGenerator(family, keys, channels,
                eventsPerKey > 0 ? eventsPerKey : Long.MAX_VALUE / keys, p.getLong("seed", 1));
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, p.getRequired("bootstrap"));
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.toMap().forEach((k, v) -> {
            if (k.startsWith("kafka.properties.")) {
                props.put(k.substring("kafka.properties.".length()), v);
            }
        });
        String topic = p.getRequired("topic");
        Path labels = p.has("labels") ? Path.of(p.get("labels")) : null;
        AvroRecordCodec<SensorReading> sensors = AvroRecordCodec.of(SensorReading.class);
        AvroRecordCodec<TradeTick> trades = AvroRecordCodec.of(TradeTick.class);
        long sent = 0;
        long start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
             BufferedWriter truth = labels == null ? null : Files.newBufferedWriter(labels, StandardCharsets.UTF_8)) {
            if (truth != null) {
                truth.write("key,timestamp,anomaly\n");
            }
            while (generator.hasNext()) {
                long due = (long) ((System.nanoTime() - start) / 1e9 * rate);
                if (sent >= due) {
                    Thread.sleep(5);
                    continue;
                }
                LabelledEvent e = generator.next();
                byte[] value = family == StreamGenerator.Family.TRADE ? trades.encode(trade(e)) : sensors.encode(reading(e));
                producer.send(new ProducerRecord<>(topic, e.key.getBytes(StandardCharsets.UTF_8), value));
                if (truth != null && e.anomaly != null) {
                    truth.write(e.key + "," + e.timestamp + "," + e.anomaly + "\n");
                }
                if (++sent % (10L * rate) == 0) {
                    System.out.printf(Locale.ROOT, "%,d events sent to %s%n", sent, topic);
                }
            }
        }
        System.out.printf(Locale.ROOT, "done: %,d events sent to %s%n", sent, topic);
    }

    /** A sensor event as the sensor job reads it: measurements named c0, c1, ... in channel order. */
    public static SensorReading reading(LabelledEvent e) {
        List<Measurement> m = new ArrayList<>(e.values.length);
        for (int c = 0; c < e.values.length; c++) {
            m.add(new Measurement("c" + c, (double) e.values[c]));
        }
        return SensorReading.newBuilder().setStreamId(e.key).setEventTimeMillis(e.timestamp).setMeasurements(m)
                .setSource("flink-mamba-generator").build();
    }

    /** A trade event: the generator's TRADE values are (price, size). */
    public static TradeTick trade(LabelledEvent e) {
        return TradeTick.newBuilder().setSymbol(e.key).setEventTimeMillis(e.timestamp)
                .setPrice(e.values[0]).setSize(e.values[1]).build();
    }
}
