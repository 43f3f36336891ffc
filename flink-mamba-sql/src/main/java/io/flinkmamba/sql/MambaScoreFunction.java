package io.flinkmamba.sql;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.DataTypeFactory;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.table.functions.TableSemantics;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.inference.CallContext;
import org.apache.flink.table.types.inference.StateTypeStrategy;
import org.apache.flink.table.types.inference.StaticArgument;
import org.apache.flink.table.types.inference.StaticArgumentTrait;
import org.apache.flink.table.types.inference.TypeInference;
import org.apache.flink.table.types.inference.TypeStrategies;
import org.apache.flink.types.ColumnList;
import org.apache.flink.types.Row;
import org.apache.flink.types.RowKind;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Optional;

/**
 * {@code MAMBA_SCORE}: a process table function that scores each row of a table partitioned by key
 * with a Mamba model, keeping every key's model state in Flink keyed state.
 *
 * <pre>{@code
 * SELECT * FROM MAMBA_SCORE(
 *   input    => TABLE sensor_readings PARTITION BY sensor_id,
 *   model    => 'file:///models/sensor-multivariate',
 *   features => DESCRIPTOR(temp, vibration, pressure),
 *   uid      => 'mamba-sensors');
 * }</pre>
 *
 * <p>The output is every input column (passed through) followed by the model's columns
 * ({@link ScoringModel#outputType()}); a row whose features are NULL, NaN or infinite is not scored:
 * its model columns are NULL except {@code rejected_reason}, and its key's state does not advance.
 *
 * <p>At planning time the call is checked: the model loads, the feature columns exist, are numeric
 * and are as many as the model's features. The model is loaded once per JVM and directory and
 * shared ({@link ModelCache}).
 */
public class MambaScoreFunction extends ProcessTableFunction<Row> {
    private static final long serialVersionUID = 1L;

    static final String ARG_INPUT = "input";
    static final String ARG_MODEL = "model";
    static final String ARG_FEATURES = "features";
    static final String ARG_THRESHOLD = "anomaly_threshold";
    static final String ARG_WARMUP = "warmup_events";
    static final String ARG_WINDOW = "anomaly_window";
    static final String STATE = "mamba";
    /** The key's state: the bytes the model's own state codec writes (see README: why bytes). */
    static final DataType STATE_TYPE = DataTypes.ROW(DataTypes.FIELD("engine_state", DataTypes.BYTES()));

    private transient KeyScorer scorer;
    private transient FeatureColumns columns;
    private transient float[] features;
    private transient String modelArg;

    @Override
    public void open(FunctionContext context) {
        scorer = null; // resolved on the first row: the model is a call argument, not known before
    }

    public void eval(Context ctx, Row state, Row input, String model, ColumnList featureList, Double threshold,
                     Integer warmupEvents, Integer window) {
        if (input.getKind() != RowKind.INSERT) {
            throw new IllegalStateException("MAMBA_SCORE takes an append-only table; got a " + input.getKind() + " row");
        }
        if (scorer == null || !model.equals(modelArg)) {
            init(ctx, model, featureList, calibration(threshold, warmupEvents, window));
        }
        String reason = columns.read(input, features);
        if (reason != null) {
            collect(scorer.rejected(reason));
            return;
        }
        Row out = scorer.score((byte[]) state.getField(0), features);
        state.setField(0, scorer.updatedState());
        collect(out);
    }

    private void init(Context ctx, String model, ColumnList featureList, CalibrationSettings calibration) {
        ScoringModel m = ModelCache.get(model);
        TableSemantics semantics = ctx.tableSemanticsFor(ARG_INPUT);
        columns = FeatureColumns.resolve(semantics.dataType(), featureList.getNames());
        if (columns.size() != m.numFeatures()) {
            throw new IllegalArgumentException(countMismatch(m, columns.size()));
        }
        scorer = m.newScorer(calibration);
        features = new float[m.numFeatures()];
        modelArg = model;
    }

    /**
     * The calibration the call asks for: the engine's defaults (those of the DataStream operator's
     * mamba.anomaly.* options), overridden by the optional arguments.
     */
    static CalibrationSettings calibration(Double threshold, Integer warmupEvents, Integer window) {
        CalibrationSettings c = CalibrationSettings.DEFAULT;
        if (window != null) {
            c = c.withShortWindow(window);
        }
        if (threshold != null) {
            c = c.withThreshold(threshold);
        }
        if (warmupEvents != null) {
            c = c.withWarmupEvents(warmupEvents);
        }
        return c;
    }

    private static String countMismatch(ScoringModel m, int given) {
        return "features => DESCRIPTOR(...) names " + given + " column(s) but model " + m.source() + " takes "
                + m.numFeatures() + " feature(s)";
    }

    @Override
    public TypeInference getTypeInference(DataTypeFactory typeFactory) {
        LinkedHashMap<String, StateTypeStrategy> state = new LinkedHashMap<>();
        state.put(STATE, StateTypeStrategy.of(TypeStrategies.explicit(STATE_TYPE)));
        return TypeInference.newBuilder()
                .staticArguments(
                        StaticArgument.table(ARG_INPUT, Row.class, false, EnumSet.of(StaticArgumentTrait.TABLE,
                                StaticArgumentTrait.SET_SEMANTIC_TABLE, StaticArgumentTrait.PASS_COLUMNS_THROUGH)),
                        StaticArgument.scalar(ARG_MODEL, DataTypes.STRING(), false),
                        StaticArgument.scalar(ARG_FEATURES, DataTypes.DESCRIPTOR(), false),
                        StaticArgument.scalar(ARG_THRESHOLD, DataTypes.DOUBLE(), true),
                        StaticArgument.scalar(ARG_WARMUP, DataTypes.INT(), true),
                        StaticArgument.scalar(ARG_WINDOW, DataTypes.INT(), true))
                .stateTypeStrategies(state)
                .outputTypeStrategy(MambaScoreFunction::inferOutput)
                .build();
    }

    /** Validates the call (model, feature columns) at planning time and gives the model's output columns. */
    private static Optional<DataType> inferOutput(CallContext call) {
        if (!call.isArgumentLiteral(1) || call.isArgumentNull(1)) {
            throw call.newValidationError("MAMBA_SCORE: the model argument must be a string literal (a model directory)");
        }
        String model = call.getArgumentValue(1, String.class).orElseThrow();
        ScoringModel m;
        try {
            m = ModelCache.get(model);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("MAMBA_SCORE: " + e.getMessage(), e);
        }
        Optional<ColumnList> descriptor = call.getArgumentValue(2, ColumnList.class);
        if (descriptor.isEmpty()) {
            throw call.newValidationError("MAMBA_SCORE: features must be DESCRIPTOR(col, ...) naming the feature columns");
        }
        Optional<TableSemantics> semantics = call.getTableSemantics(0);
        if (semantics.isPresent()) {
            FeatureColumns cols;
            try {
                cols = FeatureColumns.resolve(semantics.get().dataType(), descriptor.get().getNames());
            } catch (IllegalArgumentException e) {
                throw new ValidationException("MAMBA_SCORE: " + e.getMessage(), e);
            }
            if (cols.size() != m.numFeatures()) {
                throw new ValidationException("MAMBA_SCORE: " + countMismatch(m, cols.size()));
            }
        }
        Double threshold = optionalLiteral(call, 3, Double.class, ARG_THRESHOLD, "DOUBLE");
        Integer warmup = optionalLiteral(call, 4, Integer.class, ARG_WARMUP, "INT");
        Integer window = optionalLiteral(call, 5, Integer.class, ARG_WINDOW, "INT");
        if ((!call.isArgumentNull(3) || !call.isArgumentNull(4) || !call.isArgumentNull(5)) && !m.calibrated()) {
            throw new ValidationException("MAMBA_SCORE: " + ARG_THRESHOLD + ", " + ARG_WARMUP + " and " + ARG_WINDOW
                    + " apply to forecaster models only; " + m.source() + " is a plain Mamba checkpoint");
        }
        try {
            calibration(threshold, warmup, window);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("MAMBA_SCORE: " + e.getMessage(), e);
        }
        return Optional.of(m.outputType());
    }

    private static <T> T optionalLiteral(CallContext call, int pos, Class<T> type, String name, String sqlType) {
        if (call.isArgumentNull(pos)) {
            return null;
        }
        if (!call.isArgumentLiteral(pos)) {
            // Flink 2.2 generates code that does not compile for an implicitly cast PTF argument
            // (0.95 is a DECIMAL literal): refuse it here with the fix instead
            throw call.newValidationError("MAMBA_SCORE: " + name + " must be a literal of type " + sqlType
                    + (type == Double.class ? " (a DOUBLE literal: write 0.95e0, not 0.95, which is a DECIMAL)" : ""));
        }
        return call.getArgumentValue(pos, type).orElse(null);
    }
}
