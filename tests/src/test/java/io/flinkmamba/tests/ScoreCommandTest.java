package io.flinkmamba.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flinkmamba.examples.cli.ScoreCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code flink-mamba score} on a small CSV with two keys and bad rows, in both modes. */
class ScoreCommandTest {
  @TempDir Path dir;

  private static final String CSV = String.join("\n",
      "timestamp,value,key",
      "1000,1.0,a",
      "1000,10.0,b",
      "2000,1.1,a",
      "3000,abc,a",          // line 5: not a number
      "2000,10.5,b",
      "4000,0.9",            // line 7: wrong column count
      "3000,9.5,b",
      "5000,1.2,a",
      "",                    // blank: skipped
      "2024-01-01T00:00:00Z,1.0,a",
      "6000,NaN,b",          // line 12: not finite
      "7000,10.1,b") + "\n";

  @Test
  @Timeout(120)
  void writesInputColumnsPlusScoresInInputOrderAndReportsBadRowsByLine() throws Exception {
    for (String mode : List.of("per-event", "micro-batch")) {
      Path in = dir.resolve("in.csv");
      Path out = dir.resolve("out-" + mode + ".csv");
      Files.writeString(in, CSV);
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      PrintStream old = System.err;
      int code;
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      try {
        code = ScoreCommand.run(new String[] {"--model", TestModels.univariate(dir).toString(), "--input", in.toString(),
            "--output", out.toString(), "--mode", mode});
      } finally {
        System.setErr(old);
      }
      String stderr = err.toString(StandardCharsets.UTF_8);
      assertEquals(3, code, "some rows were bad: " + stderr);
      assertTrue(stderr.contains("line 5: value 'abc' is not a number"), stderr);
      assertTrue(stderr.contains("line 7: expected 3 columns, got 2"), stderr);
      assertTrue(stderr.contains("line 12: value is not finite"), stderr);
      assertTrue(stderr.contains("3 bad rows"), stderr);

      List<String> lines = Files.readAllLines(out);
      assertEquals("timestamp,value,key,forecast,forecast_std,score,anomaly_likelihood,anomaly_score,is_anomaly,warming_up,model_version",
          lines.get(0));
      List<String> expectedInputs = List.of("1000,1.0,a", "1000,10.0,b", "2000,1.1,a", "2000,10.5,b", "3000,9.5,b",
          "5000,1.2,a", "2024-01-01T00:00:00Z,1.0,a", "7000,10.1,b");
      assertEquals(expectedInputs.size() + 1, lines.size(), "one row per good input row");
      for (int i = 0; i < expectedInputs.size(); i++) {
        String[] cols = lines.get(i + 1).split(",", -1);
        assertEquals(11, cols.length, lines.get(i + 1));
        assertEquals(expectedInputs.get(i), String.join(",", cols[0], cols[1], cols[2]), "input order and columns");
        boolean first = i < 2; // the first row of each key has no forecast yet
        assertEquals(first, cols[3].isEmpty(), "forecast of " + lines.get(i + 1));
        double likelihood = Double.parseDouble(cols[6]);
        assertTrue(likelihood >= 0 && likelihood <= 1);
        assertEquals(cols[6], cols[7], "anomaly_score is the likelihood");
        assertTrue(cols[8].equals("true") || cols[8].equals("false"));
        assertEquals("true", cols[9], "eight rows are all warm-up");
      }
      // the second row of key b is forecast from the first
      assertEquals(10.0, Double.parseDouble(lines.get(4).split(",")[3]), 0.5);
    }
  }

  @Test
  void refusesAModelOfAnotherFeatureCount() throws Exception {
    Path in = dir.resolve("two.csv");
    Files.writeString(in, "timestamp,x,y\n1,2,3\n");
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> ScoreCommand.run(new String[] {"--model", TestModels.univariate(dir).toString(), "--input", in.toString(),
            "--output", dir.resolve("o.csv").toString()}));
    assertTrue(e.getMessage().contains("2 value columns") && e.getMessage().contains("reads 1 features"), e.getMessage());
  }
}
