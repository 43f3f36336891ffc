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

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Feeds generated streams to Kafka as the jobs' Avro records, at a fixed rate, until stopped or for
 * {@code --events} events:
 * {@code --bootstrap host:port --topic T --family sensor|trade [--keys 100] [--channels 3] [--rate 1000] [--events N] [--seed 1]}.
 * Sensor readings carry measurements {@code v0, v1, ...}; trade ticks price and size.
 */
public final class GeneratorMain {
    private GeneratorMain() {
    }

    public static void main(String[] args) throws Exception {
        ParameterTool p = ParameterTool.fromArgs(args);
        String bootstrap = p.getRequired("bootstrap"), topic = p.getRequired("topic");
        StreamGenerator.Family family = StreamGenerator.Family.valueOf(p.get("family", "sensor").toUpperCase(Locale.ROOT));
        int keys = p.getInt("keys", 100);
        int channels = family == StreamGenerator.Family.TRADE ? 2 : p.getInt("channels", 3);
        int rate = p.getInt("rate", 1000);
        long events = p.getLong("events", Long.MAX_VALUE / 2);
        StreamGenerator generator = new StreamGenerator(family, keys, channels, Math.max(1, events / keys), p.getLong("seed", 1));
        AvroRecordCodec<SensorReading> sensors = AvroRecordCodec.of(SensorReading.class);
        AvroRecordCodec<TradeTick> trades = AvroRecordCodec.of(TradeTick.class);
        Map<String, Object> config = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.LINGER_MS_CONFIG, 5);
        long sent = 0, start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config)) {
            while (generator.hasNext()) {
                long due = (long) ((System.nanoTime() - start) / 1e9 * rate);
                while (sent < due && generator.hasNext()) {
                    LabelledEvent e = generator.next();
                    byte[] value;
                    if (family == StreamGenerator.Family.TRADE) {
                        value = trades.encode(new TradeTick(e.key, e.timestamp, (double) e.values[0], (double) e.values[1], null));
                    } else {
                        List<Measurement> m = new ArrayList<>();
                        for (int c = 0; c < e.values.length; c++) {
                            m.add(new Measurement("v" + c, (double) e.values[c]));
                        }
                        value = sensors.encode(new SensorReading(e.key, e.timestamp, m, "generator"));
                    }
                    producer.send(new ProducerRecord<>(topic, e.key.getBytes(StandardCharsets.UTF_8), value));
                    sent++;
                }
                Thread.sleep(10);
            }
        }
        System.out.println("sent " + sent + " events to " + topic);
    }
}
