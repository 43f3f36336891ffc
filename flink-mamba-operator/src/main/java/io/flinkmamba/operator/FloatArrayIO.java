package io.flinkmamba.operator;

import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Length-prefixed float arrays in big-endian (Flink's DataOutput order), moved through a scratch
 * byte[] so a state of thousands of floats costs one bulk write, not one call per float. One
 * instance per serializer instance (not thread-safe).
 */
final class FloatArrayIO {
    /** Refuses lengths that cannot be a real state: protects against reading garbage as a size. */
    static final int MAX_FLOATS = 1 << 28;
    private static final VarHandle FLOATS = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.BIG_ENDIAN);
    private byte[] scratch = new byte[0];

    void write(float[] a, DataOutputView out) throws IOException {
        out.writeInt(a.length);
        byte[] b = scratch(4 * a.length);
        for (int i = 0; i < a.length; i++) {
            FLOATS.set(b, 4 * i, a[i]);
        }
        out.write(b, 0, 4 * a.length);
    }

    float[] read(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_FLOATS) {
            throw new IOException("corrupt state: float array length " + n);
        }
        byte[] b = scratch(4 * n);
        in.readFully(b, 0, 4 * n);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) FLOATS.get(b, 4 * i);
        }
        return a;
    }

    void copy(DataInputView in, DataOutputView out) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_FLOATS) {
            throw new IOException("corrupt state: float array length " + n);
        }
        out.writeInt(n);
        // through the scratch buffer: DataOutputSerializer.write(DataInputView, int) does not grow its buffer
        byte[] b = scratch(4 * n);
        in.readFully(b, 0, 4 * n);
        out.write(b, 0, 4 * n);
    }

    private byte[] scratch(int bytes) {
        if (scratch.length < bytes) {
            scratch = new byte[bytes];
        }
        return scratch;
    }
}
