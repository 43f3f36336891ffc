package io.flinkmamba.quality;

import io.flinkmamba.examples.generator.AnomalyKind;
import io.flinkmamba.examples.generator.LabelledEvent;
import io.flinkmamba.examples.generator.StreamGenerator;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** The benchmark's labelled series: generated ones, and real public series with injected anomalies. */
public final class Datasets {
    private Datasets() {
    }

    /** One key per series of the generator's SENSOR family (all six anomaly kinds), for a seed. */
    public static List<Series> generated(int keys, int channels, long eventsPerKey, long seed) {
        StreamGenerator g = new StreamGenerator(StreamGenerator.Family.SENSOR, keys, channels, eventsPerKey, seed);
        Map<String, List<LabelledEvent>> byKey = new LinkedHashMap<>();
        while (g.hasNext()) {
            LabelledEvent e = g.next();
            byKey.computeIfAbsent(e.key, k -> new ArrayList<>()).add(e);
        }
        List<Series> out = new ArrayList<>();
        for (Map.Entry<String, List<LabelledEvent>> e : byKey.entrySet()) {
            List<LabelledEvent> evs = e.getValue();
            float[][] v = new float[evs.size()][];
            boolean[] a = new boolean[evs.size()];
            String[] k = new String[evs.size()];
            for (int t = 0; t < evs.size(); t++) {
                v[t] = evs.get(t).values;
                a[t] = evs.get(t).isAnomaly();
                k[t] = a[t] ? evs.get(t).anomaly.name() : null;
            }
            out.add(new Series("seed" + seed + "/" + e.getKey(), v, a, k, 0, evs.size()));
        }
        return out;
    }

    /** A real series from the classpath CSV resource: one numeric column. */
    public static double[] column(String resource, String column, String filterColumn, String filterValue) throws IOException {
        try (InputStream in = Datasets.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("missing resource " + resource);
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String[] header = r.readLine().split(",");
            int c = indexOf(header, column), fc = filterColumn == null ? -1 : indexOf(header, filterColumn);
            List<Double> values = new ArrayList<>();
            for (String line; (line = r.readLine()) != null; ) {
                String[] f = line.split(",");
                if (fc >= 0 && !f[fc].equals(filterValue)) {
                    continue;
                }
                values.add(Double.parseDouble(f[c]));
            }
            return values.stream().mapToDouble(Double::doubleValue).toArray();
        }
    }

    private static int indexOf(String[] header, String name) throws IOException {
        for (int i = 0; i < header.length; i++) {
            if (header[i].trim().equals(name)) {
                return i;
            }
        }
        throw new IOException("no column " + name);
    }

    /**
     * The real series: NOAA's hourly climate normals for Seattle (pressure, temperature, wind; 8,759
     * hours) and NOAA daily weather for Seattle and New York (max temperature, wind; 1,461 days each),
     * as vega-datasets 3.2.1 ships them (U.S. Government works). They carry no anomaly labels: labelled
     * anomalies of the six kinds are injected by {@link #inject}. Each series is split in time: the
     * first half tunes, the second half is held out.
     */
    public static List<Series> real(long seed, boolean tuningHalf) throws IOException {
        return real(seed, tuningHalf, Integer.MAX_VALUE);
    }

    /** As {@link #real(long, boolean)}, each series cut to its first {@code maxEvents} events (for quick runs). */
    public static List<Series> real(long seed, boolean tuningHalf, int maxEvents) throws IOException {
        List<Series> whole = REAL.get(seed + "/" + maxEvents);
        if (whole == null) {
            whole = realWhole(seed, maxEvents);
            REAL.put(seed + "/" + maxEvents, whole);
        }
        List<Series> out = new ArrayList<>();
        for (Series s : whole) {
            int half = s.length() / 2;
            out.add(tuningHalf ? s.range(0, half) : s.range(half, s.length()));
        }
        return out;
    }

    /** Both halves share one injected series, so a detector runs over each series once. */
    private static final Map<String, List<Series>> REAL = new java.util.concurrent.ConcurrentHashMap<>();

    private static List<Series> realWhole(long seed, int maxEvents) throws IOException {
        Map<String, double[]> raw = new LinkedHashMap<>();
        String hourly = "/data/seattle-weather-hourly-normals.csv";
        raw.put("seattle-hourly/pressure", column(hourly, "pressure", null, null));
        raw.put("seattle-hourly/temperature", column(hourly, "temperature", null, null));
        raw.put("seattle-hourly/wind", column(hourly, "wind", null, null));
        String daily = "/data/weather.csv";
        for (String city : new String[] {"Seattle", "New York"}) {
            raw.put(city + "-daily/temp_max", column(daily, "temp_max", "location", city));
            raw.put(city + "-daily/wind", column(daily, "wind", "location", city));
        }
        List<Series> out = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (Map.Entry<String, double[]> e : raw.entrySet()) {
            double[] x = e.getValue();
            out.add(inject(e.getKey(), x.length > maxEvents ? java.util.Arrays.copyOf(x, maxEvents) : x, rnd.split()));
        }
        return out;
    }

    /**
     * Injects labelled anomalies into a real series, with the generator's schedule (an episode may
     * start at the middle of each 200-event block after the first 300 events, with probability 0.5;
     * kind uniform; a spike lasts one event, the others 15 to 66) and magnitudes relative to the
     * series' standard deviation b: spike ±(1..2)b, level shift ±(0.5..1)b, drift to ±(0.5..1)b,
     * stuck (the value freezes), variance burst (+N(0, (0.25b)^2)), frequency change (the segment
     * replays the series three times faster).
     */
    static Series inject(String name, double[] x, SplittableRandom rnd) {
        int n = x.length;
        double mean = 0, sq = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= n;
        for (double v : x) {
            sq += (v - mean) * (v - mean);
        }
        double b = Math.sqrt(sq / n);
        float[][] v = new float[n][1];
        boolean[] a = new boolean[n];
        String[] k = new String[n];
        for (int t = 0; t < n; t++) {
            v[t][0] = (float) x[t];
        }
        AnomalyKind[] kinds = AnomalyKind.values();
        for (int start = 300; start < n; start += 200) {
            if (start % 200 != 100 || rnd.nextDouble() >= 0.5) {
                continue;
            }
            AnomalyKind kind = kinds[rnd.nextInt(kinds.length)];
            int len = kind == AnomalyKind.SPIKE ? 1 : rnd.nextInt(15, 67);
            double sign = rnd.nextBoolean() ? 1 : -1;
            double mag = kind == AnomalyKind.SPIKE ? rnd.nextDouble(1, 2) : rnd.nextDouble(0.5, 1);
            for (int j = 0; j < len && start + j < n; j++) {
                int t = start + j;
                double y = x[t];
                switch (kind) {
                    case SPIKE: y += sign * mag * b; break;
                    case LEVEL_SHIFT: y += sign * mag * b; break;
                    case DRIFT: y += sign * mag * b * (j + 1) / (double) len; break;
                    case STUCK: y = x[start]; break;
                    case VARIANCE_BURST: y += 0.25 * b * gaussian(rnd); break;
                    case FREQUENCY_CHANGE: y = x[Math.min(n - 1, start + 3 * j)]; break;
                    default: throw new AssertionError(kind);
                }
                v[t][0] = (float) y;
                a[t] = true;
                k[t] = kind.name();
            }
        }
        return new Series(name, v, a, k, 0, n);
    }

    private static double gaussian(SplittableRandom rnd) {
        double u1 = rnd.nextDouble(), u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
