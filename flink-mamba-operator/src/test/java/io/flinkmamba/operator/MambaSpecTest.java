package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MambaSpecTest {
    private static MambaSpec.Builder<TestEvent> builder() {
        return MambaSpec.builder("/models/m", "v1", new TestEvent.Extractor());
    }

    @Test
    void optionsComeFromTheJobConfigurationAndTheBuilderOverridesThem() {
        Configuration job = new Configuration();
        job.setString("mamba.mode", "MICRO_BATCH");
        job.setString("mamba.batch.max-events", "77");
        job.setString("mamba.batch.max-delay", "250 ms");
        job.setString("mamba.ordering", "EVENT_TIME");
        MambaSettings s = builder().batchMaxEvents(33).build().resolve(job);
        assertEquals(ScoringMode.MICRO_BATCH, s.mode);
        assertEquals(33, s.batchMaxEvents, "the builder wins");
        assertEquals(250, s.batchMaxDelayMs);
        assertEquals(Ordering.EVENT_TIME, s.ordering);
        assertEquals("cpu", s.device);

        MambaSettings defaults = builder().build().resolve(new Configuration());
        assertEquals(ScoringMode.PER_EVENT, defaults.mode);
        assertEquals(512, defaults.batchMaxEvents);
        assertEquals(Ordering.ARRIVAL, defaults.ordering);
        assertTrue(defaults.flushOnCheckpoint);
    }

    @Test
    void invalidSettingsFailWhenTheSpecIsBuilt() {
        assertEquals("mamba.batch.max-events must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> builder().batchMaxEvents(0).build()).getMessage());
        assertEquals("mamba.device must be cpu, gpu or auto, got 'tpu'",
                assertThrows(IllegalArgumentException.class, () -> builder().device("tpu").build()).getMessage());
        assertEquals("mamba.allowed-lateness must not be negative, got PT-1S",
                assertThrows(IllegalArgumentException.class, () -> builder().allowedLateness(Duration.ofSeconds(-1)).build()).getMessage());
        Configuration job = new Configuration();
        job.setString("mamba.state.expected-backend", "filesystem");
        MambaSpec<TestEvent> spec = builder().build();
        assertEquals("mamba.state.expected-backend must be any, heap or rocksdb, got 'filesystem'",
                assertThrows(IllegalArgumentException.class, () -> spec.resolve(job)).getMessage());
    }

    @Test
    void theSpecIsSerializable() throws Exception {
        MambaSpec<TestEvent> spec = builder().mode(ScoringMode.MICRO_BATCH).uid("my-uid").build();
        MambaSpec<TestEvent> back = InstantiationUtil.clone(spec);
        assertEquals("/models/m", back.modelPath());
        assertEquals("my-uid", back.uid());
        assertEquals(ScoringMode.MICRO_BATCH, back.resolve(new Configuration()).mode);
    }

    /** A stand-in for the GPU module's provider. */
    static final class FakeProvider implements BatchForwardProvider {
        final String device;
        final boolean available;

        /** The options of the last create(model, options) call. */
        org.apache.flink.configuration.ReadableConfig lastOptions;

        FakeProvider(String device, boolean available) {
            this.device = device;
            this.available = available;
        }

        @Override
        public BatchForward create(MambaModel model, org.apache.flink.configuration.ReadableConfig options) {
            lastOptions = options;
            return create(model);
        }

        @Override public String device() { return device; }
        @Override public boolean available() { return available; }
        @Override public String unavailableReason() { return "no CUDA driver"; }

        @Override
        public BatchForward create(MambaModel model) {
            return new BatchForward() {
                @Override public void forward(MambaBatch batch) { }
                @Override public String device() { return device + ":fake"; }
            };
        }
    }

    @Test
    void theResolverPicksByDevice() {
        BatchForwardResolver withGpu = new BatchForwardResolver(List.of(new FakeProvider("cpu", true), new FakeProvider("gpu", true)));
        assertEquals("gpu:fake", withGpu.create("gpu", null).device());
        assertEquals("gpu:fake", withGpu.create("auto", null).device());
        assertEquals("cpu:fake", withGpu.create("cpu", null).device());

        BatchForwardResolver gpuAbsent = new BatchForwardResolver(List.of(new FakeProvider("cpu", true), new FakeProvider("gpu", false)));
        assertEquals("cpu:fake", gpuAbsent.create("auto", null).device());
        assertEquals("mamba.device=gpu: the 'gpu' implementation is not available on this machine: no CUDA driver",
                assertThrows(IllegalStateException.class, () -> gpuAbsent.create("gpu", null)).getMessage());
    }

    @Test
    void theGpuPrecisionOptionReachesTheProvider() {
        Configuration conf = new Configuration();
        conf.setString("mamba.gpu.precision", "tf32");
        conf.setString("mamba.mode", "MICRO_BATCH");
        MambaSettings settings = new MambaSettings(conf);
        assertEquals(io.flinkmamba.kernels.gpu.GpuPrecision.TF32, settings.gpuPrecision);
        FakeProvider gpu = new FakeProvider("gpu", true);
        new BatchForwardResolver(List.of(new FakeProvider("cpu", true), gpu)).create("auto", null, settings.deviceOptions());
        assertEquals(io.flinkmamba.kernels.gpu.GpuPrecision.TF32, gpu.lastOptions.get(MambaOptions.GPU_PRECISION));
        assertEquals(io.flinkmamba.kernels.gpu.GpuPrecision.TF32, GpuBatchForwardProvider.precision(settings.deviceOptions()));

        // not set: the GPU implementation's own default (the JVM property, else TF32X3)
        MambaSettings unset = new MambaSettings(new Configuration());
        assertEquals(null, unset.gpuPrecision);
        assertTrue(unset.deviceOptions().getOptional(MambaOptions.GPU_PRECISION).isEmpty());
        assertEquals(io.flinkmamba.kernels.gpu.GpuPrecision.fromSystemProperty(),
                GpuBatchForwardProvider.precision(unset.deviceOptions()));

        // the builder overrides the job's configuration, as for every option
        Configuration job = new Configuration();
        job.setString("mamba.gpu.precision", "TF32");
        assertEquals(io.flinkmamba.kernels.gpu.GpuPrecision.TF32, builder().build().resolve(job).gpuPrecision);
        assertEquals(io.flinkmamba.kernels.gpu.GpuPrecision.FP32,
                builder().gpuPrecision(io.flinkmamba.kernels.gpu.GpuPrecision.FP32).build().resolve(job).gpuPrecision);

        Configuration bad = new Configuration();
        bad.setString("mamba.gpu.precision", "fp16");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MambaSettings(bad));
        assertTrue(e.getMessage().contains("mamba.gpu.precision"), e.getMessage());
    }

    @Test
    void theServiceLoaderFindsTheCpuAndGpuProviders() {
        org.junit.jupiter.api.Assumptions.assumeFalse(io.flinkmamba.kernels.gpu.GpuDevices.probe().available(), "this machine has a GPU");
        BatchForwardResolver r = BatchForwardResolver.fromServiceLoader(getClass().getClassLoader());
        String m = assertThrows(IllegalStateException.class, () -> r.create("gpu", null)).getMessage();
        assertTrue(m.startsWith("mamba.device=gpu: the 'gpu' implementation is not available on this machine: "), m);
        assertSame(CpuBatchForwardProvider.class, loadCpu().getClass());
    }

    private static BatchForwardProvider loadCpu() {
        for (BatchForwardProvider p : java.util.ServiceLoader.load(BatchForwardProvider.class)) {
            if (p.device().equals("cpu")) {
                return p;
            }
        }
        throw new AssertionError("no cpu provider");
    }
}
