package io.flinkmamba.sql;

import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeFamily;
import org.apache.flink.table.types.logical.utils.LogicalTypeChecks;
import org.apache.flink.types.Row;

import java.util.List;

/**
 * The input columns named by {@code features => DESCRIPTOR(...)}: checked against the input table's
 * type (they exist and are numeric) and read from each row as floats, the way a DataStream
 * feature extractor would cast them.
 */
final class FeatureColumns {
    private final String[] names;
    private final int[] positions;

    private FeatureColumns(String[] names, int[] positions) {
        this.names = names;
        this.positions = positions;
    }

    /** Resolves the descriptor's columns in the input row type; throws IllegalArgumentException naming the bad column. */
    static FeatureColumns resolve(DataType inputRowType, List<String> descriptor) {
        List<String> fieldNames = LogicalTypeChecks.getFieldNames(inputRowType.getLogicalType());
        List<DataType> fieldTypes = inputRowType.getChildren();
        if (descriptor.isEmpty()) {
            throw new IllegalArgumentException("features => DESCRIPTOR(...) names no column");
        }
        String[] names = descriptor.toArray(new String[0]);
        int[] positions = new int[names.length];
        for (int i = 0; i < names.length; i++) {
            int p = fieldNames.indexOf(names[i]);
            if (p < 0) {
                throw new IllegalArgumentException("feature column '" + names[i] + "' is not a column of the input table "
                        + fieldNames);
            }
            LogicalType t = fieldTypes.get(p).getLogicalType();
            if (!t.is(LogicalTypeFamily.NUMERIC)) {
                throw new IllegalArgumentException("feature column '" + names[i] + "' is of type " + t
                        + "; feature columns must be numeric (TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE or DECIMAL)");
            }
            for (int j = 0; j < i; j++) {
                if (names[j].equals(names[i])) {
                    throw new IllegalArgumentException("feature column '" + names[i] + "' is named twice");
                }
            }
            positions[i] = p;
        }
        return new FeatureColumns(names, positions);
    }

    int size() {
        return names.length;
    }

    /**
     * Reads the row's features into {@code out}.
     *
     * @return null when all are finite numbers, else the reason the row cannot be scored
     */
    String read(Row row, float[] out) {
        for (int i = 0; i < positions.length; i++) {
            Object v = row.getField(positions[i]);
            if (v == null) {
                return "feature '" + names[i] + "' is NULL";
            }
            float f = ((Number) v).floatValue();
            if (!Float.isFinite(f)) {
                return "feature '" + names[i] + "' is " + f + (Double.isFinite(((Number) v).doubleValue()) ? " as a FLOAT (value " + v + ")" : "");
            }
            out[i] = f;
        }
        return null;
    }
}
