package io.flinkmamba.quality;

/**
 * One labelled stream: values [T][F], the anomaly label of every event, and the range of events
 * [evalFrom, evalTo) that a split evaluates (a detector always runs over the whole stream, so its
 * state before evalFrom is what the earlier events made it).
 */
public final class Series {
    final String name;
    final float[][] values;
    final boolean[] anomalous;
    final String[] kind;
    final int evalFrom;
    final int evalTo;

    Series(String name, float[][] values, boolean[] anomalous, String[] kind, int evalFrom, int evalTo) {
        this.name = name;
        this.values = values;
        this.anomalous = anomalous;
        this.kind = kind;
        this.evalFrom = evalFrom;
        this.evalTo = evalTo;
    }

    Series range(int from, int to) {
        return new Series(name, values, anomalous, kind, from, to);
    }

    int length() {
        return values.length;
    }

    int features() {
        return values[0].length;
    }
}
