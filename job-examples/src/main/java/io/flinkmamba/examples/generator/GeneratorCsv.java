package io.flinkmamba.examples.generator;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * Writes generated streams as CSV: {@code timestamp,v0[,v1...],key,label} where label is the
 * anomaly kind or empty. {@code main}: {@code --family sensor|trade --keys N --channels C --events E
 * --seed S --out FILE}.
 */
public final class GeneratorCsv {
    private GeneratorCsv() {
    }

    public static long write(Iterator<LabelledEvent> events, int channels, Path out) throws IOException {
        long n = 0;
        try (BufferedWriter w = Files.newBufferedWriter(out)) {
            StringBuilder header = new StringBuilder("timestamp");
            for (int c = 0; c < channels; c++) {
                header.append(",v").append(c);
            }
            w.write(header.append(",key,label\n").toString());
            while (events.hasNext()) {
                LabelledEvent e = events.next();
                StringBuilder sb = new StringBuilder().append(e.timestamp);
                for (float v : e.values) {
                    sb.append(',').append(v);
                }
                sb.append(',').append(e.key).append(',').append(e.anomaly == null ? "" : e.anomaly.name()).append('\n');
                w.write(sb.toString());
                n++;
            }
        }
        return n;
    }

    public static void main(String[] args) throws IOException {
        String family = "sensor", out = null;
        int keys = 10, channels = 1;
        long events = 1000, seed = 1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--family": family = args[i + 1]; break;
                case "--keys": keys = Integer.parseInt(args[i + 1]); break;
                case "--channels": channels = Integer.parseInt(args[i + 1]); break;
                case "--events": events = Long.parseLong(args[i + 1]); break;
                case "--seed": seed = Long.parseLong(args[i + 1]); break;
                case "--out": out = args[i + 1]; break;
                default: throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (out == null) {
            throw new IllegalArgumentException("--out FILE is required");
        }
        StreamGenerator.Family f = StreamGenerator.Family.valueOf(family.toUpperCase(java.util.Locale.ROOT));
        if (f == StreamGenerator.Family.TRADE) {
            channels = 2;
        }
        long n = write(new StreamGenerator(f, keys, channels, events, seed), channels, Path.of(out));
        System.out.println("wrote " + n + " events to " + out);
    }
}
