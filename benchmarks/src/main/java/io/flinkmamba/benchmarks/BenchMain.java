package io.flinkmamba.benchmarks;

import io.flinkmamba.kernels.model.MambaConfig;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs the CPU core benchmarks in rounds (every benchmark once per round, so peers that are compared
 * ran close together on a shared machine) and prints the derived figures: FMA peak, step events/s,
 * allocation per step, GFLOP/s and % of peak, ratio to the scalar loop, parallel tokens/s against
 * stepping, and state bytes per stream. Ratios are medians of per-round ratios.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -jar benchmarks.jar [--full] [--rounds N]
 * [--include REGEX]}. Short by default (about 3 minutes); {@code --full} measures longer, 3 rounds.
 */
public final class BenchMain {
    private static final String STEP = StepBenchmark.class.getName();
    private static final String FMA = FmaPeakBenchmark.class.getName();
    private static final String PAR = ParallelBenchmark.class.getName();
    private static final String STREAM = WeightStreamBenchmark.class.getName();
    private static final String MICRO = MicroBatchBenchmark.class.getName();

    public static void main(String[] args) throws RunnerException {
        boolean full = false;
        int rounds = -1;
        int forks = 1;
        String include = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--full": full = true; break;
                case "--rounds": rounds = Integer.parseInt(args[++i]); break;
                case "--include": include = args[++i]; break;
                case "--forks": forks = Integer.parseInt(args[++i]); break;
                default:
                    System.err.println("usage: [--full] [--rounds N] [--forks N] [--include REGEX]");
                    System.exit(2);
            }
        }
        if (rounds < 0) {
            rounds = full ? 3 : 1;
        }
        ChainedOptionsBuilder opts = new OptionsBuilder()
                // --forks 0 runs in this JVM: code compiled for one benchmark stays compiled for the
                // next, which on a heavily shared machine is the difference between measuring C2 code
                // and measuring the first seconds of C1 code that boxes every vector
                .forks(forks)
                // the first seconds run C1 code that boxes every vector: warm up well past C2
                .warmupIterations(full ? 8 : 6)
                .warmupTime(TimeValue.seconds(1))
                .measurementIterations(full ? 10 : 5)
                .measurementTime(TimeValue.seconds(1))
                .jvmArgsAppend("--add-modules=jdk.incubator.vector", "-Xmx2g", "-XX:+UseParallelGC")
                .addProfiler(GCProfiler.class);
        if (include != null) {
            opts.include(include);
        } else {
            opts.include(STEP).include(FMA).include(PAR).include(STREAM).include(MICRO);
        }
        Map<String, List<Double>> score = new LinkedHashMap<>();
        Map<String, List<Double>> alloc = new LinkedHashMap<>();
        List<Map<String, Double>> perRound = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            System.out.printf("%n===== round %d of %d =====%n", r + 1, rounds);
            Collection<RunResult> results = new Runner(opts.build()).run();
            Map<String, Double> round = new LinkedHashMap<>();
            for (RunResult rr : results) {
                String key = key(rr);
                double s = rr.getPrimaryResult().getScore();
                round.put(key, s);
                score.computeIfAbsent(key, k -> new ArrayList<>()).add(s);
                Result a = rr.getSecondaryResults().get("gc.alloc.rate.norm");
                if (a != null) {
                    alloc.computeIfAbsent(key, k -> new ArrayList<>()).add(a.getScore());
                }
            }
            perRound.add(round);
        }
        report(score, alloc, perRound, rounds, full);
    }

    private static String key(RunResult rr) {
        String name = rr.getParams().getBenchmark();
        StringBuilder sb = new StringBuilder(name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1));
        for (String p : rr.getParams().getParamsKeys()) {
            sb.append(' ').append(p).append('=').append(rr.getParams().getParam(p));
        }
        return sb.toString();
    }

    private static void report(Map<String, List<Double>> score, Map<String, List<Double>> alloc,
                               List<Map<String, Double>> perRound, int rounds, boolean full) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%n===== CPU core summary (%s, %d round(s), medians) =====%n",
                full ? "full" : "short", rounds));
        out.append(String.format(Locale.ROOT, "cpu: %s; java %s; Vector API preferred species: %d float lanes%n",
                cpuModel(), System.getProperty("java.version"), FmaPeakBenchmark.lanes()));
        String fmaKey = "FmaPeakBenchmark.fma";
        double peak = Double.NaN;
        if (score.containsKey(fmaKey)) {
            peak = median(score.get(fmaKey)) * 2 * FmaPeakBenchmark.lanes();
            out.append(String.format(Locale.ROOT, "FMA peak (%d chains x %d lanes): %.1f GFLOP/s%n",
                    FmaPeakBenchmark.CHAINS, FmaPeakBenchmark.lanes(), peak / 1e9));
        }
        out.append(String.format(Locale.ROOT, "%n| model | impl | events/s | alloc B/step | FLOP/step | GFLOP/s | %% of FMA peak | weights read/step | vs scalar loop |%n"));
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (String size : new String[] {"h64", "h256"}) {
            MambaConfig c = BenchModels.config(size);
            long flops = StepFlops.perStep(c);
            for (String impl : new String[] {"step", "scalarLoop"}) {
                String k = "StepBenchmark." + impl + " size=" + size;
                if (!score.containsKey(k)) {
                    continue;
                }
                double eps = median(score.get(k));
                double ratio = medianRatio(perRound, k, "StepBenchmark.scalarLoop size=" + size);
                // % of peak per round (the peak measured in the same round), then the median
                double ofPeak = 100 * medianRatio(perRound, k, fmaKey) * flops / (2.0 * FmaPeakBenchmark.lanes());
                out.append(String.format(Locale.ROOT, "| %s | %s | %.0f | %s | %d | %.2f | %.1f%% | %.2f MB | %.2fx |%n",
                        describe(c), impl.equals("step") ? "RecurrentStepper" : "ScalarReference", eps,
                        alloc.containsKey(k) ? String.format(Locale.ROOT, "%.1f", median(alloc.get(k))) : "?",
                        flops, eps * flops / 1e9, ofPeak, StepFlops.weightBytes(c) / 1e6, ratio));
            }
        }
        out.append(String.format(Locale.ROOT, "%n| model | weights/step | weight stream (read once) | memory roof: steps/s | step / roof |%n"));
        out.append("|---|---:|---:|---:|---:|\n");
        for (String size : new String[] {"h64", "h256"}) {
            String k = "WeightStreamBenchmark.readOnce size=" + size;
            if (!score.containsKey(k)) {
                continue;
            }
            long bytes = StepFlops.weightBytes(BenchModels.config(size));
            double roof = median(score.get(k));
            out.append(String.format(Locale.ROOT, "| %s | %.2f MB | %.1f GB/s | %.0f | %.2f |%n",
                    describe(BenchModels.config(size)), bytes / 1e6, roof * bytes / 1e9, roof,
                    medianRatio(perRound, "StepBenchmark.step size=" + size, k)));
        }
        out.append(String.format(Locale.ROOT, "%n| model | window | streams x window | mode | tokens/s | alloc B/token | parallel / stepped |%n"));
        out.append("|---|---:|---|---|---:|---:|---:|\n");
        for (String size : new String[] {"h64", "h256"}) {
            for (String window : new String[] {"64", "1024"}) {
                for (String mode : new String[] {"parallel", "stepped"}) {
                    String k = "ParallelBenchmark." + mode + " size=" + size + " window=" + window;
                    if (!score.containsKey(k)) {
                        continue;
                    }
                    int w = Integer.parseInt(window);
                    double ratio = medianRatio(perRound, "ParallelBenchmark.parallel size=" + size + " window=" + window,
                            "ParallelBenchmark.stepped size=" + size + " window=" + window);
                    out.append(String.format(Locale.ROOT, "| %s | %d | %d x %d | %s | %.0f | %s | %s |%n",
                            describe(BenchModels.config(size)), w, ParallelBenchmark.TOKENS / w, w, mode,
                            median(score.get(k)),
                            alloc.containsKey(k) ? String.format(Locale.ROOT, "%.2f", median(alloc.get(k))) : "?",
                            mode.equals("parallel") ? String.format(Locale.ROOT, "%.2fx", ratio) : ""));
                }
            }
        }
        String mb = "MicroBatchBenchmark.";
        if (score.containsKey(mb + "stepEach")) {
            out.append(String.format(Locale.ROOT, "%n| flush of %d keys x 1 event (hidden 32, %d keys) | events/s | vs stepping |%n",
                    MicroBatchBenchmark.BATCH, MicroBatchBenchmark.KEYS));
            out.append("|---|---:|---:|\n");
            for (String m : new String[] {"stepEach", "batchCopyingStates", "batchSharingStates"}) {
                if (score.containsKey(mb + m)) {
                    out.append(String.format(Locale.ROOT, "| %s | %.0f | %.2fx |%n", m, median(score.get(mb + m)),
                            medianRatio(perRound, mb + m, mb + "stepEach")));
                }
            }
        }
        out.append("\nState per stream (float32: per layer conv window [E, K-1] + SSM state [E, N]):\n");
        for (String size : new String[] {"h64", "h256"}) {
            MambaConfig c = BenchModels.config(size);
            out.append(String.format(Locale.ROOT, "  %s: %d floats = %d bytes%n", describe(c), c.stateFloats(),
                    4L * c.stateFloats()));
        }
        System.out.print(out);
    }

    private static String describe(MambaConfig c) {
        return "hidden " + c.hiddenSize() + " / state " + c.stateSize() + " / " + c.numLayers() + " layers";
    }

    private static double medianRatio(List<Map<String, Double>> perRound, String num, String den) {
        List<Double> r = new ArrayList<>();
        for (Map<String, Double> round : perRound) {
            if (round.containsKey(num) && round.containsKey(den)) {
                r.add(round.get(num) / round.get(den));
            }
        }
        return r.isEmpty() ? Double.NaN : median(r);
    }

    static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        int n = a.length;
        return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim() + ", "
                            + Runtime.getRuntime().availableProcessors() + " cpus visible";
                }
            }
        } catch (Exception ignored) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }
}
