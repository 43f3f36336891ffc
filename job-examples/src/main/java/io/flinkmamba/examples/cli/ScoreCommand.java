package io.flinkmamba.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.examples.jobs.Scoring;
import io.flinkmamba.operator.AnomalyScore;
import io.flinkmamba.operator.FeatureExtractor;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaSpec;
import io.flinkmamba.operator.RejectedEvent;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.ParameterTool;

import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code flink-mamba score --model DIR --input FILE.csv --output OUT.csv [--mode per-event|micro-batch]}:
 * runs the anomaly scorer (the same call as the jobs, {@link Scoring}) in a local Flink job over a CSV
 * ({@link CsvInput}) and writes each scored row's input columns plus {@code forecast}, {@code forecast_std},
 * {@code score}, {@code anomaly_likelihood}, {@code anomaly_score} (the same value: in [0, 1]),
 * {@code is_anomaly}, {@code warming_up}, {@code model_version}, in input order. Rows that cannot be
 * read or that the scorer rejects are listed on stderr with their line numbers and left out of the
 * output. Exit 0 when every row was scored, 3 when some were bad, 1 on an error, 2 on a usage error.
 */
public final class ScoreCommand {
    private static final Set<String> OPTIONS = Set.of("model", "input", "output", "mode", "device", "threshold");

    private ScoreCommand() {
    }

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (UsageException e) {
            System.err.println("flink-mamba score: " + e.getMessage());
            System.err.println("usage: flink-mamba score --model DIR --input FILE.csv --output OUT.csv [--mode per-event|micro-batch]");
            code = 2;
        } catch (Exception e) {
            System.err.println("flink-mamba score: " + e.getMessage());
            code = 1;
        }
        System.exit(code);
    }

    /** Runs the command; returns the exit code. */
    public static int run(String[] args) throws Exception {
        ParameterTool p = ParameterTool.fromArgs(args);
        for (String key : p.toMap().keySet()) {
            if (!OPTIONS.contains(key)) {
                throw new UsageException("unknown option --" + key);
            }
        }
        if (!p.has("input") || !p.has("output")) {
            throw new UsageException("--input and --output are required");
        }
        String home = System.getenv().getOrDefault("FLINK_MAMBA_HOME", ".");
        Path model = Path.of(p.get("model", Path.of(home, "models", "general-univariate").toString()));
        if (!Files.isDirectory(model)) {
            throw new IllegalArgumentException("model directory " + model + " does not exist");
        }
        Path inputFile = Path.of(p.get("input"));
        Path outputFile = Path.of(p.get("output"));
        CsvInput in = CsvInput.read(inputFile);
        int expected = numFeatures(model);
        if (expected > 0 && expected != in.valueColumns.size()) {
            throw new IllegalArgumentException(inputFile + " has " + in.valueColumns.size() + " value columns " + in.valueColumns
                    + " but the model " + model + " reads " + expected + " features");
        }

        Configuration conf = new Configuration();
        if (p.has("mode")) {
            String mode = p.get("mode").toLowerCase(Locale.ROOT);
            if (!mode.equals("per-event") && !mode.equals("micro-batch")) {
                throw new UsageException("--mode must be per-event or micro-batch");
            }
            conf.setString("mamba.mode", mode.equals("per-event") ? "PER_EVENT" : "MICRO_BATCH");
        }
        if (p.has("device")) {
            conf.setString("mamba.device", p.get("device"));
        }
        if (p.has("threshold")) {
            conf.setString("mamba.anomaly.threshold", p.get("threshold"));
        }
        Map<Long, AnomalyScore<String>> scored = new TreeMap<>();
        Map<Long, String> rejected = new TreeMap<>();
        if (!in.rows.isEmpty()) {
            score(in, model, conf, scored, rejected);
        }
        write(in, outputFile, scored);
        for (String bad : in.badRows) {
            System.err.println("bad row: " + bad);
        }
        rejected.forEach((line, reason) -> System.err.println("bad row: line " + line + ": rejected by the scorer: " + reason));
        int bad = in.badRows.size() + rejected.size();
        System.err.printf(Locale.ROOT, "scored %d rows into %s%s%n", scored.size(), outputFile,
                bad == 0 ? "" : "; " + bad + " bad rows left out (listed above)");
        return bad == 0 ? 0 : 3;
    }

    private static void score(CsvInput in, Path model, Configuration conf, Map<Long, AnomalyScore<String>> scored,
                              Map<Long, String> rejected) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        DataStream<CsvRow> rows = env.fromData(in.rows, TypeInformation.of(CsvRow.class));
        MambaSpec<CsvRow> spec = MambaSpec.builder(model.toString(), model.getFileName().toString(), new RowFeatures()).build();
        SingleOutputStreamOperator<AnomalyScore<String>> scores = Scoring.scoreAnomalies(rows.keyBy(r -> r.key, Types.STRING), spec);
        DataStream<Result> results = scores.getSideOutput(MambaOperators.REJECTED)
                .map(Result::rejected, TypeInformation.of(Result.class))
                .union(scores.map(Result::scored, TypeInformation.of(Result.class)));
        Map<String, List<AnomalyScore<String>>> byKey = new HashMap<>();
        try (CloseableIterator<Result> it = results.executeAndCollect("flink-mamba score")) {
            while (it.hasNext()) {
                Result r = it.next();
                if (r.reason != null) {
                    rejected.put(r.line, r.reason);
                } else {
                    byKey.computeIfAbsent(r.score.key, k -> new ArrayList<>()).add(r.score);
                }
            }
        }
        // A key's scores come in its rows' order, rejected rows not advancing it: the n-th score of a
        // key belongs to its n-th row that was not rejected (checked against the row's timestamp).
        Map<String, Integer> next = new HashMap<>();
        byKey.values().forEach(list -> list.sort(Comparator.comparingLong(a -> a.eventsSeen)));
        for (CsvRow row : in.rows) {
            if (rejected.containsKey(row.line)) {
                continue;
            }
            List<AnomalyScore<String>> list = byKey.getOrDefault(row.key, List.of());
            int i = next.merge(row.key, 1, Integer::sum) - 1;
            if (i >= list.size() || list.get(i).eventTime != row.timestamp) {
                throw new IllegalStateException("line " + row.line + ": no score came back for it (key " + row.key + ")");
            }
            scored.put(row.line, list.get(i));
        }
    }

    private static void write(CsvInput in, Path out, Map<Long, AnomalyScore<String>> scored) throws Exception {
        int f = in.valueColumns.size();
        StringBuilder header = new StringBuilder(in.header);
        for (String suffix : new String[] {"forecast", "forecast_std"}) {
            for (String c : in.valueColumns) {
                header.append(',').append(f == 1 ? suffix : suffix + "_" + c);
            }
        }
        header.append(",score,anomaly_likelihood,anomaly_score,is_anomaly,warming_up,model_version");
        if (out.toAbsolutePath().getParent() != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
        }
        try (BufferedWriter w = Files.newBufferedWriter(out)) {
            w.write(header.append('\n').toString());
            for (Map.Entry<Long, AnomalyScore<String>> e : scored.entrySet()) {
                AnomalyScore<String> s = e.getValue();
                StringBuilder line = new StringBuilder(in.lines.get((int) (long) e.getKey()).strip());
                for (float[] arr : new float[][] {s.forecast, s.forecastStd}) {
                    for (int i = 0; i < f; i++) {
                        line.append(',');
                        if (s.eventsSeen > 1) { // a key's first event has no forecast
                            line.append(arr == null || arr.length <= i ? "" : Float.toString(arr[i]));
                        }
                    }
                }
                line.append(',').append(s.score).append(',').append(s.anomalyLikelihood).append(',').append(s.anomalyLikelihood)
                        .append(',').append(s.isAnomaly).append(',').append(s.warmingUp).append(',').append(s.modelVersion.replace(',', ';'));
                w.write(line.append('\n').toString());
            }
        }
    }

    static int numFeatures(Path model) throws Exception {
        Path config = model.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            return -1;
        }
        JsonNode n = new ObjectMapper().readTree(config.toFile()).path("flink_mamba").path("num_features");
        return n.isInt() ? n.intValue() : -1;
    }

    /** The row's values; its own timestamp. A rejected row is traced back to its line through {@link CsvRow#toString}. */
    static final class RowFeatures implements FeatureExtractor<CsvRow> {
        private static final long serialVersionUID = 1L;

        @Override
        public float[] features(CsvRow row) {
            return row.values;
        }

        @Override
        public long eventTime(CsvRow row, long recordTimestamp) {
            return row.timestamp;
        }
    }

    /** A score, or a rejected row with its line and reason. A Flink POJO. */
    public static class Result {
        public long line;
        public AnomalyScore<String> score;
        public String reason;

        public Result() {
        }

        static Result scored(AnomalyScore<String> s) {
            Result r = new Result();
            r.score = s;
            return r;
        }

        static Result rejected(RejectedEvent e) {
            Result r = new Result();
            String event = e.event == null ? "" : e.event;
            r.line = event.startsWith("line ") ? Long.parseLong(event.substring(5, event.indexOf(':'))) : -1;
            r.reason = e.reason;
            return r;
        }
    }

    static final class UsageException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
