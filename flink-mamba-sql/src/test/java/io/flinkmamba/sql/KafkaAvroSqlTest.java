package io.flinkmamba.sql;

import io.flinkmamba.connectors.testing.LocalKafkaBroker;
import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.Forecaster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.formats.avro.typeutils.AvroSchemaConverter;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Kafka + Avro example script itself (job-examples/sql/mamba-score-kafka-avro.sql) against a
 * real broker: readings written in Avro by a plain producer, the script's statement set scoring
 * them with the shipped sensor-multivariate forecaster into the scores and rejected topics
 * (exactly-once), both read back in Avro and checked against the per-key engine. Needs a broker JVM
 * and a few minutes on 2 cores: not in the default build; {@code -Psql-kafka} runs it.
 */
@Tag("kafka")
class KafkaAvroSqlTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(4).build());
    static LocalKafkaBroker kafka;
    static Path model;

    @BeforeAll
    static void startBroker() {
        model = Path.of("..", "models", "sensor-multivariate").toAbsolutePath().normalize();
        kafka = LocalKafkaBroker.start();
        kafka.createTopic("sensor-readings", 1); // one partition: the readings keep their order
        kafka.createTopic("sensor-scores", 2);
        kafka.createTopic("sensor-rejected", 1);
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void theKafkaExampleScoresAvroReadingsLikeTheEngine() throws Exception {
        List<Reading> readings = Reading.random(3, 240, 3, 33);
        readings.add(50, new Reading("k1", 50_500L, 1.0, 2.0, null));
        SqlScript script = SqlScript.load("mamba-score-kafka-avro.sql", Map.of("FLINK_MAMBA_SQL_JAR", "unused.jar",
                "MODEL_DIR", model.toString(), "KAFKA_BOOTSTRAP", kafka.bootstrapServers()));
        TableEnvironment tEnv = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
        tEnv.getConfig().set("parallelism.default", "2");
        tEnv.getConfig().set("restart-strategy.type", "none");
        var scoring = script.run(tEnv, false, Map.of("execution.checkpointing.interval", "500 ms"));

        // written by a plain producer in the Avro layout Flink's avro format derives from the table
        // (a Flink INSERT of many VALUES rows becomes a union that does not keep their order)
        produce(AvroSchemaConverter.convertToSchema(
                tEnv.from("sensor_readings").getResolvedSchema().toPhysicalRowDataType().getLogicalType()), readings);
        TableResult job = scoring.execute();
        try {
            int valid = (int) readings.stream().filter(Reading::valid).count();
            awaitCommitted("sensor-scores", valid);
            awaitCommitted("sensor-rejected", 1);
        } finally {
            job.getJobClient().orElseThrow().cancel().get();
        }

        List<Row> input = readBack(tEnv, "sensor_readings");
        assertEquals(readings.stream().map(r -> r.key + ":" + r.values[0]).collect(Collectors.toList()),
                input.stream().map(r -> r.getField("sensor_id") + ":" + r.getField("temperature")).collect(Collectors.toList()),
                "the readings topic holds the readings in order");
        List<Row> scores = readBack(tEnv, "sensor_scores");
        List<Row> rejected = readBack(tEnv, "sensor_rejected");
        Map<String, List<ForecastResult>> expected = EngineReference.score(Forecaster.load(model),
                CalibrationSettings.DEFAULT.withThreshold(0.999).withWarmupEvents(100), readings);
        Map<String, List<Row>> got = scores.stream().collect(Collectors.groupingBy(r -> (String) r.getField("sensor_id")));
        assertEquals(expected.keySet(), got.keySet());
        for (String key : expected.keySet()) {
            List<Row> rows = new ArrayList<>(got.get(key));
            rows.sort(Comparator.comparingLong(r -> (Long) r.getField("events_seen")));
            assertEquals(expected.get(key).size(), rows.size(), key);
            List<Double> sent = readings.stream().filter(r -> r.key.equals(key) && r.valid()).map(r -> r.values[0])
                    .collect(Collectors.toList());
            assertEquals(sent, rows.stream().map(r -> (Double) r.getField("temperature")).collect(Collectors.toList()),
                    key + ": scored in the order sent");
            for (int i = 0; i < rows.size(); i++) {
                EngineReference.assertSame(expected.get(key).get(i), rows.get(i), key + " #" + i);
            }
        }
        assertEquals(1, rejected.size());
        assertEquals("feature 'pressure' is NULL", rejected.get(0).getField("rejected_reason"));
        assertTrue(scores.stream().allMatch(r -> "sensor-multivariate-1".equals(r.getField("model_version"))));
    }

    private static void produce(Schema schema, List<Reading> readings) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(schema);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (Reading r : readings) {
                GenericRecord rec = new GenericData.Record(schema);
                rec.put("sensor_id", r.key);
                rec.put("event_time", r.ts); // timestamp-millis
                rec.put("temperature", r.values[0]);
                rec.put("vibration", r.values[1]);
                rec.put("pressure", r.values[2]);
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bytes, null);
                writer.write(rec, enc);
                enc.flush();
                producer.send(new ProducerRecord<>("sensor-readings", r.key.getBytes(StandardCharsets.UTF_8), bytes.toByteArray())).get();
            }
        }
    }

    /** Waits until the topic holds this many committed records (the sink is transactional). */
    private void awaitCommitted(String topic, int count) throws InterruptedException {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "check-" + topic + "-" + System.nanoTime());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        int seen = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic));
            while (seen < count && System.nanoTime() < deadline) {
                ConsumerRecords<byte[], byte[]> records = c.poll(Duration.ofMillis(500));
                seen += records.count();
            }
        }
        assertEquals(count, seen, "committed records in " + topic);
    }

    /** The topic's records through the script's own table definition (Avro), read to the latest offset. */
    private static List<Row> readBack(TableEnvironment tEnv, String table) throws Exception {
        String check = table + "_check";
        tEnv.executeSql("CREATE TEMPORARY TABLE " + check + " WITH ('scan.startup.mode' = 'earliest-offset', "
                + "'scan.bounded.mode' = 'latest-offset', 'properties.isolation.level' = 'read_committed', "
                + "'properties.group.id' = '" + check + "') LIKE " + table + " (OVERWRITING OPTIONS)");
        List<Row> rows = new ArrayList<>();
        try (CloseableIterator<Row> it = tEnv.executeSql("SELECT * FROM " + check).collect()) {
            it.forEachRemaining(rows::add);
        }
        return rows;
    }
}
