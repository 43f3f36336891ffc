package io.flinkmamba.kernels.gpu;

/**
 * A projection W [out][in] in the form the 3xFP16 ("half-split") tensor-core GEMMs read: every row (output) scaled by
 * a power of two so that its largest magnitude lies in [2^14, 2^15), then split into FP16 heads and tails (head =
 * round-to-nearest(w), tail = round-to-nearest(w - head)), with each 16 values of a row permuted so that a thread's A
 * fragment of a k16 step is 4 adjacent floats (see mamba.cu, the half-split GEMM). FP16 has TF32's 11 significant
 * bits, so head + tail carries w to about 2^-22 of its row's largest value, as 3xTF32's split does; the scaling keeps
 * every value inside FP16's range. Rows are padded with zeros to a multiple of the kernel's k-tile, 64
 * ({@link #paddedIn}). On the device the halves are followed by the column scales ({@link #deviceBytes}).
 */
final class HalfSplit {
    /** The halves, [2][out][paddedIn(in)]: heads, then tails. */
    final short[] halves;
    /** Per output: 2^-c, the factor that undoes the row's scaling 2^c. */
    final float[] columnScale;

    private HalfSplit(short[] halves, float[] columnScale) {
        this.halves = halves;
        this.columnScale = columnScale;
    }

    /** The k-tile of gemm_wgh_f16x3_n128 (WGH_KB in mamba.cu): rows of W are padded to a multiple of it. */
    static final int K_TILE = 64;

    static int paddedIn(int in) {
        return (in + K_TILE - 1) / K_TILE * K_TILE;
    }

    /** Bytes of the device form: the halves, then the column scales. */
    long deviceBytes() {
        return 2L * halves.length + 4L * columnScale.length;
    }

    /** The k of W stored at position p of a group of 16: 2q + j holds 4q + j, 2q + 8 + j holds 4q + 2 + j. */
    static int sourceK(int p) {
        int q = (p % 8) / 2, j = p % 2;
        return 4 * q + j + (p >= 8 ? 2 : 0);
    }

    /** The power-of-two exponent c that puts a largest magnitude m in [2^14, 2^15) (0 for zero or non-finite m). */
    static int scaleExponent(float m) {
        if (!(m > 0) || Float.isInfinite(m)) {
            return 0;
        }
        // subnormal m: as for the smallest normal, capped so that 2^c stays a float
        return Math.min(126, 14 - Math.getExponent(Math.max(m, Float.MIN_NORMAL)));
    }

    static HalfSplit of(float[] w, int out, int in) {
        if (w.length != out * in) {
            throw new IllegalArgumentException("W has " + w.length + " values, not " + out + " x " + in);
        }
        int pin = paddedIn(in);
        short[] h = new short[2 * out * pin];
        float[] cs = new float[out];
        for (int n = 0; n < out; n++) {
            float m = 0;
            for (int k = 0; k < in; k++) {
                m = Math.max(m, Math.abs(w[n * in + k]));
            }
            int c = scaleExponent(m);
            cs[n] = Math.scalb(1.0f, -c);
            for (int p = 0; p < pin; p++) {
                int k = p / 16 * 16 + sourceK(p % 16);
                float v = k < in ? Math.scalb(w[n * in + k], c) : 0.0f;
                short head = toHalf(v);
                h[n * pin + p] = head;
                h[out * pin + n * pin + p] = toHalf(v - halfToFloat(head));
            }
        }
        return new HalfSplit(h, cs);
    }

    /** f rounded to the nearest FP16 (ties to even), as the bits of a half; overflow gives infinity. */
    static short toHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 31) {
            return (short) (sign | 0x7c00);
        }
        int m, shift;
        if (e <= 0) {              // a subnormal half (or zero): units of 2^-24
            if (e < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            shift = 14 - e;
            m = mant >>> shift;
        } else {
            shift = 13;
            m = (e << 10) | (mant >>> 13);
        }
        int rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
        if (rem > half || (rem == half && (m & 1) == 1)) {
            m++;                   // may carry into the exponent: still the right half (up to infinity)
        }
        return (short) (sign | m);
    }

    static float halfToFloat(short h) {
        int sign = (h & 0x8000) << 16, exp = (h >>> 10) & 0x1f, mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}
