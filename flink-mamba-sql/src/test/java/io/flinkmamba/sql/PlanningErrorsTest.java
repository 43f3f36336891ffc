package io.flinkmamba.sql;

import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A bad call fails when the statement is planned, with a message that says what is wrong; nothing runs. */
class PlanningErrorsTest {
    @TempDir
    static Path tmp;
    static Path model;
    static Path forecaster;
    TableEnvironment tEnv;

    @BeforeAll
    static void writeModel() throws Exception {
        model = SqlFixture.blockModel(tmp.resolve("block-model"));
        forecaster = SqlFixture.forecaster(tmp.resolve("forecaster"), 2);
    }

    @BeforeEach
    void env() {
        tEnv = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
        tEnv.executeSql("LOAD MODULE mamba");
        tEnv.executeSql("CREATE TEMPORARY VIEW readings(sensor_id, ts, a, b, c, d, label) AS VALUES "
                + "('k1', 1, 1.0, 2.0, 3.0, 4, 'x'), ('k2', 2, 1.5, 2.5, 3.5, 5, 'y')");
    }

    private String planError(String query) {
        Exception e = assertThrows(Exception.class, () -> tEnv.explainSql(query));
        StringBuilder all = new StringBuilder();
        for (Throwable c = e; c != null; c = c.getCause()) {
            all.append(c.getMessage()).append('\n');
        }
        return all.toString();
    }

    private static String call(String modelArg, String features) {
        return "SELECT * FROM MAMBA_SCORE(input => TABLE readings PARTITION BY sensor_id, model => " + modelArg
                + ", features => DESCRIPTOR(" + features + "))";
    }

    @Test
    void aGoodCallPlansThroughTheModule() {
        String plan = tEnv.explainSql(call("'" + model.toUri() + "'", "a, b, c, d"));
        assertTrue(plan.contains("MAMBA_SCORE") || plan.contains("mamba_score"), plan);
    }

    private static String forecasterCall(String extra) {
        return "SELECT * FROM MAMBA_SCORE(input => TABLE readings PARTITION BY sensor_id, model => '" + forecaster.toUri()
                + "', features => DESCRIPTOR(a, b)" + extra + ")";
    }

    @Test
    void aForecasterCallWithCalibrationPlans() {
        tEnv.explainSql(forecasterCall(", anomaly_threshold => 0.99e0, warmup_events => 10, uid => 'u'"));
    }

    @Test
    void aThresholdOutsideZeroOne() {
        String m = planError(forecasterCall(", anomaly_threshold => 1.5e0"));
        assertTrue(m.contains("MAMBA_SCORE: anomaly threshold must be in (0, 1), got 1.5"), m);
    }

    @Test
    void aDecimalThresholdIsRefusedWithTheFix() {
        String m = planError(forecasterCall(", anomaly_threshold => 0.99"));
        assertTrue(m.contains("write 0.95e0, not 0.95"), m);
    }

    @Test
    void aNegativeWarmup() {
        String m = planError(forecasterCall(", warmup_events => -1"));
        assertTrue(m.contains("warm-up events must be >= 0, got -1"), m);
    }

    @Test
    void aZeroWindow() {
        String m = planError(forecasterCall(", anomaly_window => 0"));
        assertTrue(m.contains("short window must be in [1, 1024], got 0"), m);
    }

    @Test
    void calibrationArgumentsOnAPlainCheckpoint() {
        String m = planError(call("'" + model.toUri() + "'", "a, b, c, d") .replace("))", "), warmup_events => 5)"));
        assertTrue(m.contains("apply to forecaster models only"), m);
    }

    @Test
    void aMissingModelDirectory() {
        String m = planError(call("'" + tmp.resolve("nope").toUri() + "'", "a, b, c, d"));
        assertTrue(m.contains("MAMBA_SCORE: model directory") && m.contains("does not exist"), m);
    }

    @Test
    void aDirectoryThatIsNotAModel() throws Exception {
        Path bad = Files.createDirectories(tmp.resolve("corrupt"));
        Files.writeString(bad.resolve("config.json"), "{\"hidden_size\": 4, \"num_hidden_layers\": 1}");
        Files.write(bad.resolve("model.safetensors"), new byte[] {1, 2, 3});
        String m = planError(call("'" + bad.toUri() + "'", "a, b, c, d"));
        assertTrue(m.contains("MAMBA_SCORE: cannot load model " + bad.toAbsolutePath().normalize()), m);
    }

    @Test
    void aRemoteModelUri() {
        String m = planError(call("'hdfs:///models/x'", "a, b, c, d"));
        assertTrue(m.contains("only local directories"), m);
    }

    @Test
    void aModelThatIsNotALiteral() {
        String m = planError(call("CONCAT('/tmp', '/x')", "a, b, c, d"));
        assertTrue(m.contains("model argument must be a string literal"), m);
    }

    @Test
    void tooFewFeatureColumns() {
        String m = planError(call("'" + model.toUri() + "'", "a, b, c"));
        assertTrue(m.contains("names 3 column(s) but model") && m.contains("takes 4 feature(s)"), m);
    }

    @Test
    void aFeatureColumnThatIsNotNumeric() {
        String m = planError(call("'" + model.toUri() + "'", "a, b, c, label"));
        assertTrue(m.contains("feature column 'label' is of type") && m.contains("must be numeric"), m);
    }

    @Test
    void aFeatureColumnThatDoesNotExist() {
        String m = planError(call("'" + model.toUri() + "'", "a, b, c, nope"));
        assertTrue(m.contains("feature column 'nope' is not a column of the input table"), m);
    }
}
