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
            + "  X: float32 or float64 .npy of shape [B, L, hidden_size] (inputs_embeds)\n"
            + "  Y: float32 .npy [B, L, hidden_size], the output after the final norm (last_hidden_state)";

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
            return 0;
        } catch (ModelFormatException e) {
            err.println("flink-mamba forward: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("flink-mamba forward: cannot write " + opts.get("output") + ": " + e.getMessage());
            return 1;
        }
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
            if (!key.equals("model") && !key.equals("input") && !key.equals("output") && !key.equals("mode")) {
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
