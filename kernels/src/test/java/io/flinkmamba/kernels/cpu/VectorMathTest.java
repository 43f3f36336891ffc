package io.flinkmamba.kernels.cpu;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The projection kernels against a plain double-precision loop, over shapes that hit every tile and tail. */
class VectorMathTest {
    private static final int[] SIZES = {1, 3, 7, 8, 9, 16, 17, 34, 36, 48, 64, 67};

    @Test
    void matVecAndItsTransposedFormAgreeWithAPlainLoop() {
        Random rnd = new Random(1);
        for (int rows : SIZES) {
            for (int cols : SIZES) {
                float[] w = random(rnd, rows * cols), x = random(rnd, cols + 3), bias = random(rnd, rows);
                float[] y = new float[rows + 2], yT = new float[rows + 2];
                VectorMath.matVec(w, rows, cols, bias, x, 3, y, 2);
                VectorMath.matVecT(VectorMath.transpose(w, rows, cols), rows, cols, bias, x, 3, yT, 2);
                for (int r = 0; r < rows; r++) {
                    double e = bias[r];
                    for (int c = 0; c < cols; c++) {
                        e += (double) w[r * cols + c] * x[3 + c];
                    }
                    assertEquals(e, y[2 + r], 1e-5 * (1 + Math.abs(e)), "matVec " + rows + "x" + cols + " row " + r);
                    assertEquals(e, yT[2 + r], 1e-5 * (1 + Math.abs(e)), "matVecT " + rows + "x" + cols + " row " + r);
                }
            }
        }
    }

    @Test
    void gemmPackedAgreesWithAPlainLoopForAllTokenCountsAndShapes() {
        Random rnd = new Random(2);
        // 0..9: every tile and tail; 70 and 133: more than one token block
        for (int tokens : new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 70, 133}) {
            for (int out : SIZES) {
                for (int in : new int[] {1, 5, 16, 33}) {
                    int xStride = in + 1, yStride = out + 2;
                    float[] w = random(rnd, out * in), x = random(rnd, tokens * xStride + 1);
                    float[] bias = tokens % 2 == 0 ? random(rnd, out) : null;
                    float[] y = new float[tokens * yStride + 1];
                    VectorMath.gemmPacked(x, 1, xStride, tokens, in, VectorMath.pack(w, out, in), out, bias, y, 1, yStride);
                    for (int t = 0; t < tokens; t++) {
                        for (int o = 0; o < out; o++) {
                            double e = bias != null ? bias[o] : 0;
                            for (int i = 0; i < in; i++) {
                                e += (double) x[1 + t * xStride + i] * w[o * in + i];
                            }
                            assertEquals(e, y[1 + t * yStride + o], 1e-5 * (1 + Math.abs(e)),
                                    "gemmPacked tokens " + tokens + " out " + out + " in " + in + " at " + t + "," + o);
                        }
                    }
                }
            }
        }
    }

    private static float[] random(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = rnd.nextFloat() * 2 - 1;
        }
        return a;
    }
}
