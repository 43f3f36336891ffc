package io.flinkmamba.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.testing.LocalKafkaBroker;
import io.flinkmamba.examples.demo.Demo;
import io.flinkmamba.examples.generator.AnomalyKind;
import io.flinkmamba.examples.generator.LabelledEvent;
import io.flinkmamba.examples.generator.StreamGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo in its short mode, pointed at a broker this test owns ({@code --bootstrap}), so that the
 * output topic can be read again afterwards: every generated event is scored, the report exists,
 * names the plotted streams, and its precision and recall are what a recomputation from the output
 * topic and the generator's labels gives (written here from the rule as the report states it).
 */
class DemoTest {
  private static final int KEYS = 8;
  private static final long SEED = 7;
  private static final int WINDOW = 5;

  @TempDir Path scratch;

  @Test
  @Timeout(300)
  void shortDemoWritesAReportWhosePrecisionAndRecallMatchTheOutputTopic() throws Exception {
    Path out = scratch.resolve("report");
    try (LocalKafkaBroker kafka = LocalKafkaBroker.start()) {
      Demo.Result result = Demo.run(new String[] {
          "--bootstrap", kafka.bootstrapServers(), "--duration", "15s", "--keys", Integer.toString(KEYS),
          "--rate", "200", "--seed", Long.toString(SEED), "--out", out.toString(),
          "--model", TestModels.sensor(scratch).toString(), "--progress-every", "5s"});
      assertTrue(result.produced() > 2000, "the generator ran: " + result.produced());
      List<ConsumerRecord<byte[], byte[]>> records =
          KafkaTopics.readCommitted(kafka.bootstrapServers(), result.topics().get("output"));
      assertEquals(result.scored(), records.size(), () -> "the report counts what the output topic holds; "
          + io.flinkmamba.examples.demo.ScoreCollector.offsets(kafka.bootstrapServers(), result.topics().get("output")));
      // Every event scored: the scores once went missing here when the sink stamped them with the
      // generator's 2023 event times and the broker's retention deleted them (issue 6); the test
      // broker checks retention every second, so such a loss shows at once.
      assertEquals(result.produced(), result.scored(), "every event scored and committed");
      double[] expected = recompute(records);

      Path index = out.resolve("index.html");
      assertTrue(Files.isRegularFile(index));
      String html = Files.readString(index);
      assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("<svg") && html.contains("</html>"));
      assertTrue(!html.contains("<script src") && !html.contains("http-equiv"), "self-contained");
      Matcher streams = Pattern.compile("<h3 class=\"stream\">(sensor-\\d+)</h3>").matcher(html);
      int plotted = 0;
      while (streams.find()) {
        plotted++;
      }
      assertTrue(plotted >= 1 && plotted <= 4, "streams plotted and named: " + plotted);
      assertEquals(expected[0], number(html, "precision"), 1e-6, "precision");
      assertEquals(expected[1], number(html, "recall"), 1e-6, "recall");
      assertTrue(expected[2] > 0, "there were anomaly episodes to find: " + expected[2]);
      assertTrue(html.contains("<td>precision</td><td class=\"metric\">" + String.format(java.util.Locale.ROOT, "%.4f", expected[0])),
          "the table shows the precision");
    }
  }

  /** {precision, recall, episodes} by the report's event-window rule, from the topic and the labels. */
  private static double[] recompute(List<ConsumerRecord<byte[], byte[]>> records) throws Exception {
    AvroRecordCodec<AnomalyScore> codec = AvroRecordCodec.of(AnomalyScore.class);
    Map<String, List<AnomalyScore>> byKey = new TreeMap<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      AnomalyScore s = codec.decode(r.value());
      byKey.computeIfAbsent(s.getKey(), k -> new ArrayList<>()).add(s);
    }
    int maxPerKey = byKey.values().stream().mapToInt(List::size).max().orElse(0);
    Map<String, Map<Long, AnomalyKind>> labels = new HashMap<>();
    StreamGenerator generator = Demo.generator(KEYS, SEED);
    for (long i = 0; i < (long) KEYS * (maxPerKey + 1); i++) {
      LabelledEvent e = generator.next();
      labels.computeIfAbsent(e.key, k -> new HashMap<>()).put(e.timestamp, e.anomaly);
    }
    long flagged = 0, truePositives = 0;
    int episodes = 0, detected = 0;
    for (List<AnomalyScore> list : byKey.values()) {
      for (int i = 1; i < list.size(); i++) {
        assertTrue(list.get(i).getEventsSeen() > list.get(i - 1).getEventsSeen()
            && list.get(i).getEventTimeMillis() > list.get(i - 1).getEventTimeMillis(),
            "each event once, in order per key: " + list.get(i));
      }
      int n = list.size();
      AnomalyKind[] label = new AnomalyKind[n];
      for (int i = 0; i < n; i++) {
        label[i] = labels.get(list.get(i).getKey()).get(list.get(i).getEventTimeMillis());
      }
      boolean[] covered = new boolean[n];
      for (int i = 0; i < n; i++) {
        boolean starts = label[i] != null && (i == 0 || label[i - 1] != label[i]);
        if (!starts) {
          continue;
        }
        int end = i;
        while (end + 1 < n && label[end + 1] == label[i]) {
          end++;
        }
        boolean hit = false;
        for (int j = i; j <= Math.min(n - 1, end + WINDOW); j++) {
          covered[j] = true;
          hit |= list.get(j).getIsAnomaly();
        }
        if (!list.get(i).getWarmingUp()) {
          episodes++;
          detected += hit ? 1 : 0;
        }
      }
      for (int i = 0; i < n; i++) {
        if (list.get(i).getIsAnomaly()) {
          flagged++;
          truePositives += covered[i] ? 1 : 0;
        }
      }
    }
    return new double[] {flagged == 0 ? 0 : (double) truePositives / flagged, episodes == 0 ? 0 : (double) detected / episodes, episodes};
  }

  private static double number(String html, String name) {
    Matcher m = Pattern.compile("\"" + name + "\": ([0-9.eE+-]+)").matcher(html);
    assertTrue(m.find(), name + " in the report's metrics");
    return Double.parseDouble(m.group(1));
  }
}
