package io.flinkmamba.kernels.cli;

import io.flinkmamba.kernels.cpu.CpuParallelForward;
import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.io.ModelFormatException;
import io.flinkmamba.kernels.io.Npy;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaModel;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code flink-mamba forward --model DIR --input X.npy --output Y.npy [--mode recurrent|parallel]}:
 * runs the block stack over inputs_embeds [B, L, hidden] from a zero state and writes the final-norm
 * output (HF's last_hidden_state) as float32 [B, L, hidden]. For checking a checkpoint's conformance.
 */
public final class ForwardCommand {
    static final String USAGE = "usage: flink-mamba forward --model DIR --input X.npy --output Y.npy [--mode recurrent|parallel]\n"
            + "                           [--expect REF.npy [--tolerance 1e-5]]\n"
            + "  X: float32 or float64 .npy of shape [B, L, hidden_size] (inputs_embeds)\n"
            + "  Y: float32 .npy [B, L, hidden_size], the output after the final norm (last_hidden_state)\n"
            + "  REF: a reference output (e.g. PyTorch's last_hidden_state); prints the relative L2 error\n"
            + "       and exits with 3 when it is above the tolerance";

    private ForwardCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Returns the process exit code: 0 done, 2 usage error, 1 bad model or input. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Map<String, String> opts;
        try {
            opts = parse(args);
        } catch (IllegalArgumentException e) {
            err.println("flink-mamba forward: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        String mode = opts.getOrDefault("mode", "parallel");
        if (!mode.equals("recurrent") && !mode.equals("parallel")) {
            err.println("flink-mamba forward: --mode must be recurrent or parallel, got '" + mode + "'");
            return 2;
        }
        try {
            MambaModel model = MambaModel.load(Path.of(opts.get("model")));
            Path inPath = Path.of(opts.get("input"));
            Npy.FloatArray x = Npy.read(inPath);
            int d = model.config().hiddenSize();
            if (x.shape.length != 3 || x.shape[2] != d) {
                err.println("flink-mamba forward: " + inPath + " has shape " + Arrays.toString(x.shape)
                        + " but the model expects [B, L, " + d + "] (hidden_size " + d + ")");
                return 1;
            }
            for (int i = 0; i < x.data.length; i++) {
                if (!Float.isFinite(x.data[i])) {
                    err.println("flink-mamba forward: " + inPath + " holds a non-finite value at flat index " + i);
                    return 1;
                }
            }
            int b = (int) x.shape[0], len = (int) x.shape[1];
            float[] y = mode.equals("recurrent") ? recurrent(model, x.data, b, len) : parallel(model, x.data, b, len);
            Npy.writeFloat32(Path.of(opts.get("output")), x.shape, y);
            out.println("wrote " + opts.get("output") + " " + Arrays.toString(x.shape) + " (" + mode + " mode, model "
                    + model.fingerprint().substring(0, 12) + ")");
            return opts.containsKey("expect") ? compare(opts, y, x.shape, out, err) : 0;
        } catch (ModelFormatException e) {
            err.println("flink-mamba forward: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("flink-mamba forward: cannot write " + opts.get("output") + ": " + e.getMessage());
            return 1;
        }
    }

    private static int compare(Map<String, String> opts, float[] y, long[] shape, PrintStream out, PrintStream err) {
        Path refPath = Path.of(opts.get("expect"));
        double tol;
        try {
            tol = Double.parseDouble(opts.getOrDefault("tolerance", "1e-5"));
        } catch (NumberFormatException e) {
            err.println("flink-mamba forward: --tolerance must be a number, got '" + opts.get("tolerance") + "'");
            return 2;
        }
        double[] ref = Npy.readDoubles(refPath);
        if (!Arrays.equals(Npy.shape(refPath), shape)) {
            err.println("flink-mamba forward: " + refPath + " has shape " + Arrays.toString(Npy.shape(refPath))
                    + " but the output has " + Arrays.toString(shape));
            return 1;
        }
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = y[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        double err2 = den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
        boolean ok = err2 <= tol;
        out.printf("relative L2 error vs %s: %.3e (tolerance %.1e): %s%n", refPath, err2, tol, ok ? "OK" : "TOO LARGE");
        return ok ? 0 : 3;
    }

    static float[] recurrent(MambaModel m, float[] x, int b, int len) {
        int d = m.config().hiddenSize();
        float[] y = new float[x.length];
        RecurrentStepper st = m.newStepper();
        for (int i = 0; i < b; i++) {
            float[] s = m.newState();
            for (int t = 0; t < len; t++) {
                int off = (i * len + t) * d;
                st.step(s, 0, x, off, y, off);
            }
        }
        return y;
    }

    static float[] parallel(MambaModel m, float[] x, int b, int len) {
        MambaBatch batch = new MambaBatch(m.config());
        float[] zero = m.newState();
        for (int i = 0; i < b; i++) {
            batch.addSequence(zero, 0, len);
        }
        System.arraycopy(x, 0, batch.inputs(), 0, x.length);
        new CpuParallelForward(m).forward(batch);
        return Arrays.copyOf(batch.outputs(), x.length);
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'");
            }
            String key = a.substring(2);
            if (!java.util.Set.of("model", "input", "output", "mode", "expect", "tolerance").contains(key)) {
                throw new IllegalArgumentException("unknown option '" + a + "'");
            }
            m.put(key, args[++i]);
        }
        for (String req : new String[] {"model", "input", "output"}) {
            if (!m.containsKey(req)) {
                throw new IllegalArgumentException("missing --" + req);
            }
        }
        return m;
    }
}
