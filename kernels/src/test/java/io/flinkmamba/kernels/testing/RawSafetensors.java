package io.flinkmamba.kernels.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds safetensors bytes by hand, including broken ones: the header text and the data are given
 * separately, so a test can lie about offsets, shapes and lengths.
 */
public final class RawSafetensors {
    private RawSafetensors() {
    }

    /** A well-formed file of F32 tensors, in insertion order. */
    public static byte[] f32(Map<String, float[]> tensors, Map<String, long[]> shapes) {
        StringBuilder h = new StringBuilder("{");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        long off = 0;
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            float[] v = e.getValue();
            if (h.length() > 1) {
                h.append(',');
            }
            h.append('"').append(e.getKey()).append("\":{\"dtype\":\"F32\",\"shape\":")
                    .append(shape(shapes.get(e.getKey()))).append(",\"data_offsets\":[")
                    .append(off).append(',').append(off + 4L * v.length).append("]}");
            ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : v) {
                b.putFloat(f);
            }
            data.writeBytes(b.array());
            off += 4L * v.length;
        }
        h.append('}');
        return file(h.toString(), data.toByteArray());
    }

    public static byte[] file(String headerJson, byte[] data) {
        byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
        return file(header.length, header, data);
    }

    /** A file whose declared header length may differ from the header's real length. */
    public static byte[] file(long declaredHeaderLen, byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredHeaderLen).put(header).put(data);
        return b.array();
    }

    public static void writeCheckpoint(Path dir, RandomModels.Tensors t, String configJson) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), configJson);
        Files.write(dir.resolve("model.safetensors"), f32(t.byName, t.shapes));
    }

    /** config.json text as HF writes it, for a config. */
    public static String configJson(io.flinkmamba.kernels.model.MambaConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model_type", "\"mamba\"");
        m.put("hidden_size", c.hiddenSize());
        m.put("state_size", c.stateSize());
        m.put("intermediate_size", c.intermediateSize());
        m.put("conv_kernel", c.convKernel());
        m.put("time_step_rank", c.timeStepRank());
        m.put("num_hidden_layers", c.numLayers());
        m.put("use_bias", c.useBias());
        m.put("use_conv_bias", c.useConvBias());
        m.put("layer_norm_epsilon", c.layerNormEpsilon());
        StringBuilder sb = new StringBuilder("{");
        m.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v));
        return sb.append('}').toString();
    }

    private static String shape(long[] s) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < s.length; i++) {
            sb.append(i == 0 ? "" : ",").append(s[i]);
        }
        return sb.append(']').toString();
    }
}
