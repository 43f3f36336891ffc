package io.flinkmamba.examples.cli;

/** One data row of the input CSV, with its line number (1 = the header). A Flink POJO. */
public class CsvRow {
    public long line;
    public String key;
    public long timestamp;
    public float[] values;

    public CsvRow() {
    }

    public CsvRow(long line, String key, long timestamp, float[] values) {
        this.line = line;
        this.key = key;
        this.timestamp = timestamp;
        this.values = values;
    }

    /** Starts with {@code line N:}, which is how a rejected row is traced back to its line. */
    @Override
    public String toString() {
        return "line " + line + ": key=" + key + " timestamp=" + timestamp + " values=" + java.util.Arrays.toString(values);
    }
}
