package io.flinkmamba.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.SensorReading;
import io.flinkmamba.examples.cli.ModelUpdateCommand;
import io.flinkmamba.examples.demo.Demo;
import io.flinkmamba.examples.generator.LabelledEvent;
import io.flinkmamba.examples.generator.StreamGenerator;
import io.flinkmamba.examples.jobs.JobConfig;
import io.flinkmamba.examples.jobs.SensorAnomalyJob;
import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.Forecaster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.ExceptionUtils;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 8's end-to-end upgrade: the sensor job (real Kafka broker, MiniCluster, exactly-once sink)
 * scores a labelled stream with model v1 and a replay buffer of W inputs per key and is stopped with
 * a savepoint while readings are still arriving; the rest of the stream is written, and the job is
 * resumed from that one savepoint with model v2 under each {@code mamba.upgrade.policy} (REPLAY at
 * the same and at another parallelism, RESET, CARRY); FAIL, and CARRY onto another architecture,
 * must fail the job with the reason and commit nothing. Read back with read_committed: every input
 * scored exactly once across the upgrade, in order per key; v1 scored each key's readings up to
 * where the savepoint cut its stream (phase 1) and v2 every one after (phase 2); and each policy's
 * v2 scores equal the kernels' forecaster run the policy promises (REPLAY: a fresh v2 over the key's
 * last W inputs, then the new events). The same checks for a REPLAY hot swap to v2 through the job's
 * model-updates topic, at each key's switch.
 *
 * <p>v2 is the shipped sensor model with its weights perturbed by a seeded 5% (same architecture,
 * another fingerprint); the other architecture is the shipped model without its last layer. Both
 * are written into a temp dir here.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ModelUpgradeKafkaTest {
  @RegisterExtension
  static final MiniClusterExtension FLINK = new MiniClusterExtension(
      new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(3).build());

  private static final int KEYS = 6;
  private static final int EVENTS_PER_KEY = 64;
  /**
   * Readings per key written before the v1 job starts, and while it is being stopped (paced, so the
   * savepoint's barrier overtakes some in flight); the rest of the 64 is written after the stop.
   */
  private static final int BURST = 40, DURING_STOP = 16;
  /** Replay buffer per key (mamba.upgrade.replay-window), less than BURST so the buffer is a true window. */
  private static final int W = 32;
  private static final int WARMUP = 20;
  private static final CalibrationSettings CALIBRATION = CalibrationSettings.DEFAULT.withWarmupEvents(WARMUP);
  private static final String IN = "readings", DLQ = "dead-letters", SCORES = "scores";
  private static final Duration WAIT = Duration.ofSeconds(90);

  @TempDir static Path scratch;
  @RegisterExtension
  static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

  private static Path v1, v2, otherArchitecture;
  private static String savepoint;
  /** Every reading, in the generator's order (keys interleaved), as written to the input topic. */
  private static final List<LabelledEvent> stream = new ArrayList<>();
  /** Per key: all its readings; those v1 scored before the savepoint (phase 1); the rest (phase 2). */
  private static final Map<String, List<LabelledEvent>> events = new LinkedHashMap<>();
  private static final Map<String, List<LabelledEvent>> phase1 = new LinkedHashMap<>();
  private static final Map<String, List<LabelledEvent>> phase2 = new LinkedHashMap<>();
  /** What the v1 job committed before it was stopped, per key in topic order. */
  private static Map<String, List<AnomalyScore>> v1Scores;

  private static final AvroRecordCodec<SensorReading> READINGS = AvroRecordCodec.of(SensorReading.class);
  private static final AvroRecordCodec<AnomalyScore> SCORE_CODEC = AvroRecordCodec.of(AnomalyScore.class);

  @BeforeAll
  static void writeModels() throws Exception {
    v1 = TestModels.sensor(scratch);
    v2 = ModelVariants.perturbed(v1, scratch.resolve("sensor-v2"), 0.05, 2);
    otherArchitecture = ModelVariants.withoutLastLayer(v1, scratch.resolve("sensor-one-layer"));
    log("models written; broker up at " + KAFKA.broker().bootstrapServers());
  }

  /**
   * Once, before the first test: the v1 job, stopped with a savepoint mid-stream; the rest of the stream into the topic.
   * Not in {@code @BeforeAll}: the MiniCluster is the jobs' environment only from {@code @BeforeEach} on.
   */
  @BeforeEach
  void scorePhaseOneWithV1AndStopWithSavepoint() throws Exception {
    if (savepoint != null) {
      return;
    }
    if (v1PhaseFailure != null) {
      throw new AssertionError("the v1 phase failed (see the first test's failure)", v1PhaseFailure);
    }
    try {
      runV1Phase();
    } catch (Throwable t) {
      v1PhaseFailure = t;
      throw t;
    }
  }

  private static Throwable v1PhaseFailure;

  private static void runV1Phase() throws Exception {
    KAFKA.broker().createTopic(IN, 3);
    KAFKA.broker().createTopic(DLQ, 1);
    KAFKA.broker().createTopic(SCORES, 3);

    new StreamGenerator(StreamGenerator.Family.SENSOR, KEYS, 3, EVENTS_PER_KEY, 808).forEachRemaining(e -> {
      stream.add(e);
      events.computeIfAbsent(e.key, k -> new ArrayList<>()).add(e);
    });
    int burst = KEYS * BURST, stopAt = burst + KEYS * DURING_STOP;
    produce(stream.subList(0, burst));
    log("burst produced");
    JobClient job = start(settings(SCORES, v1, "v1", 2, null).put("mode", "micro-batch").map, null);
    try {
      awaitCommitted(job, SCORES, burst);
      log("v1 job: burst committed");
      // stop while readings are still arriving: the savepoint splits each key's stream where the source was
      CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> producePaced(stream.subList(burst, stopAt)));
      Thread.sleep(500);
      savepoint = job.stopWithSavepoint(false, scratch.resolve("savepoints").toUri().toString(), SavepointFormatType.CANONICAL)
          .get(WAIT.toSeconds(), TimeUnit.SECONDS);
      sender.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (Throwable t) {
      job.cancel();
      throw t;
    }
    produce(stream.subList(stopAt, stream.size())); // arrives while no job runs
    v1Scores = scoresByKey(SCORES);
    Map<String, Integer> split = new LinkedHashMap<>();
    events.forEach((k, e) -> {
      int n = v1Scores.getOrDefault(k, List.of()).size();
      assertTrue(n >= BURST && n <= BURST + DURING_STOP, k + ": v1 scored " + n);
      phase1.put(k, e.subList(0, n));
      phase2.put(k, e.subList(n, e.size()));
      split.put(k, n);
    });
    log("v1 job stopped with a savepoint; readings scored by v1 per key: " + split + " of " + EVENTS_PER_KEY);
    assertOnePerEventInOrder(phase1, v1Scores, "v1 run");
    ForecastScorer one = new ForecastScorer(Forecaster.load(v1), CALIBRATION);
    assertEqualsReference(v1Scores, key -> run(one, null, phase1.get(key)), "v1", one.forecaster().fingerprint(), key -> 0,
        "phase 1");
  }

  // ------------------------------------------------------------------------------ refusals (first: they must not harm the savepoint)

  /** Nothing is lost either: the later tests resume from the very savepoint this job was restored from. */
  @Test
  @Order(1)
  @Timeout(120)
  void failPolicyFailsTheJobNamingBothModelsAndCommitsNothing() throws Exception {
    Throwable failure = runToFailure("scores-fail", settings("scores-fail", v2, "v2", 2, "FAIL"));
    assertCauseMentions(failure, "was written by model", "(version v1)", "(version v2", "set mamba.upgrade.policy to CARRY, REPLAY or RESET");
    assertTrue(scoresByKey("scores-fail").isEmpty(), "nothing committed by the failed job");
  }

  @Test
  @Order(2)
  @Timeout(120)
  void carryOntoAnotherArchitectureIsRefusedWithBothShapes() throws Exception {
    Throwable failure = runToFailure("scores-carry-refused", settings("scores-carry-refused", otherArchitecture, "v2-one-layer", 2, "CARRY"));
    int v1State = Forecaster.load(v1).backbone().config().stateFloats();
    int otherState = Forecaster.load(otherArchitecture).backbone().config().stateFloats();
    assertNotEquals(v1State, otherState);
    assertCauseMentions(failure, "CARRY refused", "has " + v1State + " backbone state floats",
        "needs " + otherState + " backbone state floats", "carry needs the same architecture");
    assertTrue(scoresByKey("scores-carry-refused").isEmpty(), "nothing committed by the refused job");
  }

  // ------------------------------------------------------------------------------ upgrades

  /** REPLAY into the v1 job's own output topic: the one topic holds every event once, v1 then v2. */
  @Test
  @Order(3)
  @Timeout(120)
  void replayResumesWarmFromEachKeysLastWInputs() throws Exception {
    resume(SCORES, settings(SCORES, v2, "v2", 2, "REPLAY"), stream.size());
    Map<String, List<AnomalyScore>> all = scoresByKey(SCORES);
    assertOnePerEventInOrder(events, all, "v1 then v2 in one topic");
    Map<String, List<AnomalyScore>> after = new LinkedHashMap<>();
    all.forEach((k, s) -> {
      int n = phase1.get(k).size();
      assertEquals(v1Scores.get(k), s.subList(0, n), k + ": the v1 part is what the v1 job committed");
      after.put(k, s.subList(n, s.size()));
    });
    assertPhaseTwo(after, this::replayReference, key -> W);
    assertWarmAtOnce(after);
  }

  @Test
  @Order(4)
  @Timeout(120)
  void replayAtAnotherParallelismGivesTheSameScores() throws Exception {
    Map<String, List<AnomalyScore>> after = resumeAndCheck("scores-replay-p3",
        settings("scores-replay-p3", v2, "v2", 3, "REPLAY").put("mode", "micro-batch"));
    assertPhaseTwo(after, this::replayReference, key -> W);
    assertWarmAtOnce(after);
  }

  /** The first v2 score of every key is warm: a forecast, not flagged warming up (W > the warm-up count). */
  private static void assertWarmAtOnce(Map<String, List<AnomalyScore>> after) {
    after.forEach((key, s) -> {
      assertFalse(s.get(0).getWarmingUp(), key);
      assertTrue(s.get(0).getForecast().stream().noneMatch(f -> f.isNaN()), key + ": forecast");
    });
  }

  @Test
  @Order(5)
  @Timeout(120)
  void resetStartsEveryKeyFreshAndWarmsUpAgain() throws Exception {
    Map<String, List<AnomalyScore>> after = resumeAndCheck("scores-reset", settings("scores-reset", v2, "v2", 2, "RESET"));
    assertPhaseTwo(after, key -> run(new ForecastScorer(Forecaster.load(v2), CALIBRATION), null, phase2.get(key)), key -> 0);
    after.values().forEach(s -> assertTrue(s.get(0).getWarmingUp() && s.get(0).getForecast().stream().allMatch(f -> f.isNaN()),
        "a reset key has no forecast and warms up again"));
  }

  @Test
  @Order(6)
  @Timeout(120)
  void carryAdvancesTheV1StatesWithV2() throws Exception {
    Map<String, List<AnomalyScore>> after = resumeAndCheck("scores-carry", settings("scores-carry", v2, "v2", 2, "CARRY"));
    assertPhaseTwo(after, key -> {
      ForecastScorer one = new ForecastScorer(Forecaster.load(v1), CALIBRATION);
      ForecastState state = one.newState();
      run(one, state, phase1.get(key));
      return run(new ForecastScorer(Forecaster.load(v2), CALIBRATION), state, phase2.get(key));
    }, key -> phase1.get(key).size());
    assertWarmAtOnce(after);
  }

  // ------------------------------------------------------------------------------ hot swap

  /**
   * The same upgrades without a restart: a v1 job with the model-updates topic (its own topics, the
   * same readings) scores the first 56 readings per key; once they are committed, an update to v2
   * with the policy is published, then the rest (and, should a subtask not have switched by then, one
   * more reading per key at a time). Each key's scores: every reading once, in order; v1 up to the
   * key's switch, which comes after the first 56 (the update was published after them), and v2 from
   * there, never back; and from the switch on, the policy's reference (REPLAY: a fresh v2 run over
   * the key's last W inputs before the switch, then the readings from it).
   */
  @ParameterizedTest(name = "hot swap with {0}")
  @ValueSource(strings = {"REPLAY", "RESET", "CARRY"})
  @Order(7)
  @Timeout(180)
  void hotSwapThroughTheUpdatesTopicUpgradesEachKeyAtItsSwitch(String policy) throws Exception {
    String name = "hotswap-" + policy.toLowerCase(java.util.Locale.ROOT);
    String in = name + "-readings", out = name + "-scores", updates = name + "-models";
    KAFKA.broker().createTopic(in, 3);
    KAFKA.broker().createTopic(out, 3);
    KAFKA.broker().createTopic(updates, 1);
    Settings settings = settings(out, v1, "v1", 2, null).put("kafka.input-topic", in).put("kafka.group-id", name)
        .put("kafka.transactional-id-prefix", name).put("model-updates-topic", updates);
    int beforeUpdate = KEYS * (BURST + DURING_STOP);
    produce(in, stream.subList(0, beforeUpdate));
    JobClient job = start(settings.map, null);
    Map<String, List<LabelledEvent>> sent = new LinkedHashMap<>();
    events.forEach((k, e) -> sent.put(k, new ArrayList<>(e)));
    Map<String, List<AnomalyScore>> scores;
    try {
      awaitCommitted(job, out, beforeUpdate);
      try (KafkaProducer<byte[], byte[]> producer = KafkaTopics.producer(KAFKA.broker().bootstrapServers())) {
        producer.send(new ProducerRecord<>(updates, "v2".getBytes(StandardCharsets.UTF_8),
            ModelUpdateCommand.encode(ModelUpdateCommand.record(v2, "v2", policy, null)))).get();
      }
      log(out + ": v2 update published");
      Thread.sleep(2000); // time for the subtasks to load v2 (not needed for correctness: see the extra rounds)
      produce(in, stream.subList(beforeUpdate, stream.size()));
      awaitCommitted(job, out, stream.size());
      scores = scoresByKey(out);
      for (int round = 0; round < 30 && !allSwitched(scores); round++) {
        List<LabelledEvent> more = new ArrayList<>();
        sent.forEach((k, e) -> {
          LabelledEvent last = e.get(e.size() - 1);
          LabelledEvent next = new LabelledEvent(k, last.timestamp + 1000, e.get(e.size() - 16).values, null);
          e.add(next);
          more.add(next);
        });
        produce(in, more);
        awaitCommitted(job, out, sent.values().stream().mapToInt(List::size).sum());
        scores = scoresByKey(out);
      }
      job.stopWithSavepoint(false, scratch.resolve("savepoints-" + name).toUri().toString(), SavepointFormatType.CANONICAL)
          .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (Throwable t) {
      job.cancel();
      throw t;
    }
    scores = scoresByKey(out);
    assertTrue(allSwitched(scores), "every key switched to v2");
    Map<String, Integer> switchAt = new HashMap<>();
    scores.forEach((k, s) -> {
      int j = firstV2(s);
      assertTrue(j >= BURST + DURING_STOP, k + ": no v2 score before the update was published (first at " + j + ")");
      switchAt.put(k, j);
    });
    log(out + ": switch index per key " + switchAt);
    assertOnePerEventInOrder(sent, scores, switchAt::get, "hot swap");
    Map<String, List<AnomalyScore>> after = new LinkedHashMap<>();
    scores.forEach((k, s) -> after.put(k, s.subList(switchAt.get(k), s.size())));
    ForecastScorer one = new ForecastScorer(Forecaster.load(v1), CALIBRATION);
    ForecastScorer two = new ForecastScorer(Forecaster.load(v2), CALIBRATION);
    assertEqualsReference(after, key -> {
      List<LabelledEvent> events = sent.get(key);
      int j = switchAt.get(key);
      ForecastState state = two.newState();
      switch (policy) {
        case "REPLAY": // a fresh v2 state over the last W inputs before the switch
          run(two, state, events.subList(j - W, j));
          break;
        case "CARRY": // v1's state after every input before the switch, advanced by v2 from there
          state = one.newState();
          run(one, state, events.subList(0, j));
          break;
        default: // RESET: a fresh v2 state
      }
      return run(two, state, events.subList(j, events.size()));
    }, "v2", two.forecaster().fingerprint(), key -> policy.equals("REPLAY") ? W : policy.equals("CARRY") ? switchAt.get(key) : 0, name);
    if (policy.equals("RESET")) {
      after.forEach((key, s) -> assertTrue(s.get(0).getWarmingUp(), key + ": a reset key warms up again"));
    } else {
      assertWarmAtOnce(after);
    }
    assertTrue(scoresByKey(DLQ).isEmpty(), "no dead letters: the update was accepted by every subtask");
  }

  private static int firstV2(List<AnomalyScore> scores) {
    for (int i = 0; i < scores.size(); i++) {
      if (scores.get(i).getModelVersion().equals("v2")) {
        return i;
      }
    }
    return -1;
  }

  private static boolean allSwitched(Map<String, List<AnomalyScore>> scores) {
    return scores.size() == KEYS && scores.values().stream().allMatch(s -> firstV2(s) >= 0);
  }

  // ------------------------------------------------------------------------------ references

  /** A fresh v2 run over the key's last W phase-1 inputs (outputs dropped), then its phase-2 events. */
  private List<ForecastResult> replayReference(String key) {
    ForecastScorer scorer = new ForecastScorer(Forecaster.load(v2), CALIBRATION);
    ForecastState state = scorer.newState();
    List<LabelledEvent> before = phase1.get(key);
    run(scorer, state, before.subList(before.size() - W, before.size()));
    return run(scorer, state, phase2.get(key));
  }

  /** The kernels' per-event forecaster loop (recurrent mode) over the events, from {@code state} (null: fresh). */
  private static List<ForecastResult> run(ForecastScorer scorer, ForecastState state, List<LabelledEvent> events) {
    ForecastState s = state == null ? scorer.newState() : state;
    List<ForecastResult> out = new ArrayList<>();
    for (LabelledEvent e : events) {
      out.add(scorer.score(s, e.values));
    }
    return out;
  }

  /**
   * Phase 2's scores, per key: all v2, each equal to the reference's result ({@code eventsBefore}: what
   * the key's event count continues from: W after a replay, 0 after a reset), and most of them unlike
   * what v1 would have given had the job not been upgraded.
   */
  private void assertPhaseTwo(Map<String, List<AnomalyScore>> after, Function<String, List<ForecastResult>> reference,
                              Function<String, Integer> eventsBefore) {
    assertEqualsReference(after, reference, "v2", Forecaster.load(v2).fingerprint(), eventsBefore, "phase 2");
    ForecastScorer v1Continued = new ForecastScorer(Forecaster.load(v1), CALIBRATION);
    int differsFromV1 = 0;
    for (Map.Entry<String, List<AnomalyScore>> e : after.entrySet()) {
      ForecastState v1State = v1Continued.newState();
      run(v1Continued, v1State, phase1.get(e.getKey()));
      List<ForecastResult> ifNotUpgraded = run(v1Continued, v1State, phase2.get(e.getKey()));
      for (int i = 0; i < e.getValue().size(); i++) {
        double score = e.getValue().get(i).getScore();
        if (Math.abs(ifNotUpgraded.get(i).score - score) > 1e-3 * (1 + Math.abs(score))) {
          differsFromV1++;
        }
      }
    }
    int phase2Events = phase2.values().stream().mapToInt(List::size).sum();
    assertTrue(differsFromV1 > phase2Events / 2,
        "v2 scores differ from what v1 would have given (" + differsFromV1 + " of " + phase2Events + ")");
    assertTrue(scoresByKey(DLQ).isEmpty(), "no dead letters");
  }

  /** Per key, each score is the reference's result for that event, by model {@code version} with {@code fingerprint}. */
  private static void assertEqualsReference(Map<String, List<AnomalyScore>> scores,
                                            Function<String, List<ForecastResult>> reference, String version,
                                            String fingerprint, Function<String, Integer> eventsBefore, String phase) {
    double maxDifference = 0;
    for (Map.Entry<String, List<AnomalyScore>> e : scores.entrySet()) {
      List<ForecastResult> expected = reference.apply(e.getKey());
      List<AnomalyScore> got = e.getValue();
      assertEquals(expected.size(), got.size(), e.getKey());
      for (int i = 0; i < got.size(); i++) {
        AnomalyScore s = got.get(i);
        ForecastResult r = expected.get(i);
        String what = e.getKey() + " " + phase + " event " + i;
        assertEquals(version, s.getModelVersion(), what + ": model version");
        assertEquals(fingerprint, s.getModelFingerprint(), what + ": model fingerprint");
        assertEquals(eventsBefore.apply(e.getKey()) + i + 1, s.getEventsSeen(), what + ": events seen");
        assertEquals(r.eventsSeen, s.getEventsSeen(), what);
        assertEquals(r.warmingUp, s.getWarmingUp(), what + ": warming up");
        maxDifference = Math.max(maxDifference, assertClose(r.score, s.getScore(), what + ": score vs the reference"));
        for (int f = 0; f < r.forecast.length; f++) {
          maxDifference = Math.max(maxDifference, assertClose(r.forecast[f], s.getForecast().get(f), what + ": forecast " + f));
          maxDifference = Math.max(maxDifference, assertClose(r.forecastStd[f], s.getForecastStd().get(f), what + ": forecast std " + f));
        }
        maxDifference = Math.max(maxDifference, assertClose(r.likelihood, s.getAnomalyLikelihood(), what + ": likelihood"));
      }
    }
    log(phase + " (" + version + "): largest difference from the reference " + maxDifference + " (relative, 1e-5 allowed)");
  }

  /** Within 1e-5 x (1 + |expected|); NaN (no forecast yet) only where the reference has NaN. Returns the difference so scaled. */
  private static double assertClose(double expected, double actual, String what) {
    if (Double.isNaN(expected) || Double.isNaN(actual)) {
      assertEquals(Double.isNaN(expected), Double.isNaN(actual), what + ": expected " + expected + ", got " + actual);
      return 0;
    }
    assertEquals(expected, actual, 1e-5 * (1 + Math.abs(expected)), what);
    return Math.abs(expected - actual) / (1 + Math.abs(expected));
  }

  // ------------------------------------------------------------------------------ jobs

  /** A job's settings; put() adds more. */
  private static final class Settings {
    final Map<String, String> map = new HashMap<>();

    Settings put(String key, String value) {
      map.put(key, value);
      return this;
    }
  }

  private static Settings settings(String outputTopic, Path model, String version, int parallelism, String policy) {
    Settings s = new Settings()
        .put("kafka.bootstrap-servers", KAFKA.broker().bootstrapServers())
        .put("kafka.input-topic", IN)
        .put("kafka.output-topic", outputTopic)
        .put("kafka.dead-letter-topic", DLQ)
        .put("kafka.group-id", "upgrade-test")
        .put("kafka.transactional-id-prefix", "upgrade-test")
        .put("model", model.toString())
        .put("model-version", version)
        .put("parallelism", Integer.toString(parallelism))
        .put("checkpoint-interval", "300ms")
        .put("out-of-orderness", "1s")
        .put("mamba.upgrade.replay-window", Integer.toString(W))
        .put("mamba.anomaly.warmup-events", Integer.toString(WARMUP))
        // a failing job (FAIL, refused CARRY) stops at its first failure instead of restarting
        .put("restart-strategy.type", "none");
    if (policy != null) {
      s.put("mamba.upgrade.policy", policy);
    }
    return s;
  }

  private static JobClient start(Map<String, String> settings, String restoreFrom) throws Exception {
    Map<String, String> s = new HashMap<>(settings);
    if (restoreFrom != null) {
      s.put("execution.state-recovery.path", restoreFrom);
    }
    JobConfig config = JobConfig.fromMap(s, SensorAnomalyJob.DEFAULT_MODEL);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config.configuration());
    env.setParallelism(config.parallelism());
    SensorAnomalyJob.build(env, config);
    JobClient job = env.executeAsync("sensor job, model " + config.modelVersion());
    log("submitted: " + config.kafka().outputTopic() + ", model " + config.modelVersion());
    return job;
  }

  /** Resumes from the savepoint, waits for {@code count} committed scores, stops the job (with a savepoint, so all is committed). */
  private static void resume(String topic, Settings settings, int count) throws Exception {
    if (!topic.equals(SCORES)) {
      KAFKA.broker().createTopic(topic, 3);
    }
    JobClient job = start(settings.map, savepoint);
    try {
      awaitCommitted(job, topic, count);
    } catch (Throwable t) {
      job.cancel(); // its slots are needed by the next test
      throw t;
    }
    log(topic + ": all scores committed");
    job.stopWithSavepoint(false, scratch.resolve("savepoints-after").toUri().toString(), SavepointFormatType.CANONICAL)
        .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    log(topic + ": job stopped");
  }

  private static final long T0 = System.nanoTime();

  /** Progress on stdout, seconds since the class was loaded: where the test's time goes. */
  private static void log(String what) {
    System.out.printf("ModelUpgradeKafkaTest %6.1f s: %s%n", (System.nanoTime() - T0) / 1e9, what);
  }

  /** Resumes into its own topic; checks phase 1 (v1 job) plus that topic is every event once; returns the topic's scores. */
  private static Map<String, List<AnomalyScore>> resumeAndCheck(String topic, Settings settings) throws Exception {
    resume(topic, settings, phase2.values().stream().mapToInt(List::size).sum());
    Map<String, List<AnomalyScore>> after = scoresByKey(topic);
    Map<String, List<AnomalyScore>> all = new LinkedHashMap<>();
    v1Scores.forEach((k, s) -> all.put(k, concat(s, after.getOrDefault(k, List.of()))));
    assertOnePerEventInOrder(events, all, "v1 job's topic then " + topic);
    return after;
  }

  private static Throwable runToFailure(String topic, Settings settings) throws Exception {
    KAFKA.broker().createTopic(topic, 3);
    JobClient job = start(settings.map, savepoint);
    try {
      job.getJobExecutionResult().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException failed) {
      log(topic + ": job failed");
      return failed;
    } catch (TimeoutException stillRunning) {
      job.cancel();
    }
    return fail("the job did not fail; policy " + settings.map.get("mamba.upgrade.policy"));
  }

  private static void assertCauseMentions(Throwable failure, String... fragments) {
    Throwable cause = ExceptionUtils.findThrowableWithMessage(failure, fragments[0])
        .orElseThrow(() -> new AssertionError("no cause mentions '" + fragments[0] + "'", failure));
    for (String f : fragments) {
      assertTrue(cause.getMessage().contains(f), "'" + f + "' in: " + cause.getMessage());
    }
  }

  private static void awaitCommitted(JobClient job, String topic, int count) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    int seen = 0;
    while (System.nanoTime() < deadline) {
      int now = KafkaTopics.readCommitted(KAFKA.broker().bootstrapServers(), topic).size();
      if (seen == 0 && now > 0) {
        log(topic + ": first scores committed");
      }
      seen = now;
      if (seen >= count) {
        return;
      }
      if (job.getJobStatus().get().isGloballyTerminalState()) {
        job.getJobExecutionResult().get(); // throws the failure
        fail("the job ended with " + seen + " of " + count + " scores committed to " + topic);
      }
      Thread.sleep(300);
    }
    fail("only " + seen + " of " + count + " scores committed to " + topic + " within " + WAIT);
  }

  // ------------------------------------------------------------------------------ Kafka

  private static void produce(List<LabelledEvent> events) {
    produce(IN, events);
  }

  /** The readings one by one, 10 ms apart. */
  private static void producePaced(List<LabelledEvent> readings) {
    try (KafkaProducer<byte[], byte[]> producer = KafkaTopics.producer(KAFKA.broker().bootstrapServers())) {
      for (LabelledEvent e : readings) {
        producer.send(new ProducerRecord<>(IN, e.key.getBytes(StandardCharsets.UTF_8), READINGS.encode(Demo.reading(e))));
        producer.flush();
        Thread.sleep(10);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void produce(String topic, List<LabelledEvent> events) {
    try (KafkaProducer<byte[], byte[]> producer = KafkaTopics.producer(KAFKA.broker().bootstrapServers())) {
      for (LabelledEvent e : events) {
        producer.send(new ProducerRecord<>(topic, e.key.getBytes(StandardCharsets.UTF_8), READINGS.encode(Demo.reading(e))));
      }
      producer.flush();
    }
  }

  /** Everything committed to the topic, per key in offset order (one partition per key). */
  private static Map<String, List<AnomalyScore>> scoresByKey(String topic) {
    Map<String, List<AnomalyScore>> byKey = new LinkedHashMap<>();
    Map<String, Integer> partitionOfKey = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : KafkaTopics.readCommitted(KAFKA.broker().bootstrapServers(), topic)) {
      String key = new String(r.key(), StandardCharsets.UTF_8);
      assertEquals(partitionOfKey.computeIfAbsent(key, k -> r.partition()), r.partition(), "one partition per key");
      byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(topic.equals(DLQ) ? null : decode(r));
    }
    return byKey;
  }

  private static AnomalyScore decode(ConsumerRecord<byte[], byte[]> r) {
    try {
      return SCORE_CODEC.decode(r.value());
    } catch (Exception e) {
      throw new AssertionError("undecodable score at offset " + r.offset() + " of " + r.topic(), e);
    }
  }

  /** Per key, one score per event, in the events' order; v1 scored phase 1, v2 the rest. */
  private static void assertOnePerEventInOrder(Map<String, List<LabelledEvent>> events, Map<String, List<AnomalyScore>> scores,
                                               String what) {
    assertOnePerEventInOrder(events, scores, key -> phase1.get(key).size(), what);
  }

  /**
   * Per key, one score per event, in the events' order (event time and input features); scores by v1
   * (counting events from 1) up to the key's {@code firstV2} index, by v2 from there on.
   */
  private static void assertOnePerEventInOrder(Map<String, List<LabelledEvent>> events, Map<String, List<AnomalyScore>> scores,
                                               Function<String, Integer> firstV2, String what) {
    assertEquals(events.keySet(), scores.keySet(), what + ": keys");
    for (Map.Entry<String, List<LabelledEvent>> e : events.entrySet()) {
      List<AnomalyScore> got = scores.get(e.getKey());
      assertEquals(e.getValue().size(), got.size(), what + ", " + e.getKey() + ": one score per event (no loss, no duplicate)");
      for (int i = 0; i < got.size(); i++) {
        LabelledEvent in = e.getValue().get(i);
        AnomalyScore s = got.get(i);
        assertEquals(e.getKey(), s.getKey());
        assertEquals(in.timestamp, s.getEventTimeMillis(), what + ", " + e.getKey() + " #" + i + ": in order");
        for (int f = 0; f < in.values.length; f++) {
          assertEquals(in.values[f], s.getInput().get(f), what + ", " + e.getKey() + " #" + i + ": input");
        }
        boolean before = i < firstV2.apply(e.getKey());
        assertEquals(before ? "v1" : "v2", s.getModelVersion(),
            what + ", " + e.getKey() + " #" + i + ": v1 before the switch, v2 after");
        if (before) {
          assertEquals(i + 1, s.getEventsSeen(), what + ", " + e.getKey() + " #" + i + ": events seen under v1");
        }
      }
    }
  }

  private static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
