-- The Kafka example (mamba-score-kafka-avro.sql) on bounded JSON-lines files instead of topics:
-- the same function call and the same split into scores and rejected readings. A test runs it
-- (flink-mamba-sql: ExampleScriptsTest) and checks every score against the engine.
--
-- Placeholders: ${MODEL_DIR} (forecaster directory with 3 features), ${INPUT} (a JSON-lines file
-- with sensor_id, event_time 'yyyy-MM-dd HH:mm:ss.SSS', temperature, vibration, pressure),
-- ${SCORES_DIR} and ${REJECTED_DIR} (output directories). MAMBA_SCORE must be on the classpath
-- (ADD JAR as in the Kafka example).

LOAD MODULE mamba;

-- the file sink commits its files at checkpoints (and at the end of the input)
SET 'execution.checkpointing.interval' = '1 s';

CREATE TABLE sensor_readings (
  sensor_id   STRING NOT NULL,
  event_time  TIMESTAMP(3) NOT NULL,
  temperature DOUBLE,
  vibration   DOUBLE,
  pressure    DOUBLE,
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE sensor_scores (
  sensor_id          STRING NOT NULL,
  event_time         TIMESTAMP(3) NOT NULL,
  temperature        DOUBLE,
  vibration          DOUBLE,
  pressure           DOUBLE,
  forecast           ARRAY<FLOAT>,
  forecast_std       ARRAY<FLOAT>,
  score              DOUBLE,
  anomaly_likelihood DOUBLE,
  is_anomaly         BOOLEAN,
  warming_up         BOOLEAN,
  events_seen        BIGINT,
  model_version      STRING,
  model_fingerprint  STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${SCORES_DIR}',
  'format' = 'json'
);

CREATE TABLE sensor_rejected (
  sensor_id       STRING NOT NULL,
  event_time      TIMESTAMP(3) NOT NULL,
  temperature     DOUBLE,
  vibration       DOUBLE,
  pressure        DOUBLE,
  rejected_reason STRING NOT NULL
) WITH (
  'connector' = 'filesystem',
  'path' = '${REJECTED_DIR}',
  'format' = 'json'
);

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
