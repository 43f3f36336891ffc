-- Score sensor readings from Kafka with a Mamba forecaster, per sensor, from Flink SQL.
--
-- Reads Avro records from topic sensor-readings, keeps each sensor's forecaster state in Flink
-- keyed state (MAMBA_SCORE, a process table function), writes one Avro score per reading to topic
-- sensor-scores and the readings that could not be scored (NULL/NaN/infinite features) with the
-- reason to topic sensor-rejected.
--
-- Run it with the SQL client, after filling in the ${...} placeholders, e.g.:
--   export FLINK_MAMBA_SQL_JAR=/opt/flink-mamba/flink-mamba-sql-0.1.0-SNAPSHOT.jar \
--          MODEL_DIR=/opt/flink-mamba/models/sensor-multivariate KAFKA_BOOTSTRAP=broker:9092
--   envsubst < mamba-score-kafka-avro.sql > job.sql && bin/sql-client.sh -f job.sql
-- The cluster needs the Kafka connector and Avro format jars (flink-sql-connector-kafka 5.0.0-2.2,
-- flink-sql-avro 2.2.x) in lib/ or added with ADD JAR, and the model directory on every TaskManager.
--
-- Topic format: Flink's 'avro' format is plain binary Avro whose schema is derived from the table
-- schema below (no schema registry, no single-object header). Producers that use a registry should
-- switch the tables to 'avro-confluent'. Times are Avro timestamp-millis (TIMESTAMP(3), UTC):
-- the avro format cannot write TIMESTAMP_LTZ.

ADD JAR '${FLINK_MAMBA_SQL_JAR}';
-- Makes MAMBA_SCORE available in every catalog. Alternatively:
--   CREATE FUNCTION mamba_score AS 'io.flinkmamba.sql.MambaScoreFunction' USING JAR '${FLINK_MAMBA_SQL_JAR}';
LOAD MODULE mamba;

-- A savepoint taken from this job restores every sensor's state: keep the uid below stable.
SET 'execution.checkpointing.interval' = '30 s';

CREATE TABLE sensor_readings (
  sensor_id   STRING NOT NULL,
  event_time  TIMESTAMP(3) NOT NULL,
  temperature DOUBLE,
  vibration   DOUBLE,
  pressure    DOUBLE,
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'sensor-readings',
  'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP}',
  'properties.group.id' = 'flink-mamba-sql',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'format' = 'avro'
);

CREATE TABLE sensor_scores (
  sensor_id          STRING NOT NULL,
  event_time         TIMESTAMP(3) NOT NULL,
  temperature        DOUBLE,
  vibration          DOUBLE,
  pressure           DOUBLE,
  forecast           ARRAY<FLOAT>,   -- per feature, raw units; NULL for a sensor's first reading
  forecast_std       ARRAY<FLOAT>,
  score              DOUBLE,         -- negative log-likelihood of the reading under the forecast
  anomaly_likelihood DOUBLE,         -- in [0, 1], calibrated against the sensor's own history
  is_anomaly         BOOLEAN,
  warming_up         BOOLEAN,
  events_seen        BIGINT,
  model_version      STRING,
  model_fingerprint  STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'sensor-scores',
  'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP}',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = 'flink-mamba-sql-scores',
  'properties.transaction.timeout.ms' = '600000',
  'key.format' = 'raw',
  'key.fields' = 'sensor_id',
  'value.format' = 'avro'
);

CREATE TABLE sensor_rejected (
  sensor_id       STRING NOT NULL,
  event_time      TIMESTAMP(3) NOT NULL,
  temperature     DOUBLE,
  vibration       DOUBLE,
  pressure        DOUBLE,
  rejected_reason STRING NOT NULL
) WITH (
  'connector' = 'kafka',
  'topic' = 'sensor-rejected',
  'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP}',
  'format' = 'avro'
);

-- One row out per row in: the input columns, then the model's columns, then rowtime (from on_time).
-- Both INSERTs below read this view with the same uid, so one stateful function feeds both.
CREATE TEMPORARY VIEW scored AS
SELECT * FROM MAMBA_SCORE(
  input             => TABLE sensor_readings PARTITION BY sensor_id,
  model             => 'file://${MODEL_DIR}',
  features          => DESCRIPTOR(temperature, vibration, pressure),
  anomaly_threshold => 0.999e0,
  warmup_events     => 100,
  on_time           => DESCRIPTOR(event_time),
  uid               => 'mamba-sensor-scores');

EXECUTE STATEMENT SET
BEGIN
  INSERT INTO sensor_scores
  SELECT sensor_id, event_time, temperature, vibration, pressure, forecast, forecast_std, score,
         anomaly_likelihood, is_anomaly, warming_up, events_seen, model_version, model_fingerprint
  FROM scored WHERE rejected_reason IS NULL;
  INSERT INTO sensor_rejected
  SELECT sensor_id, event_time, temperature, vibration, pressure, rejected_reason
  FROM scored WHERE rejected_reason IS NOT NULL;
END;
