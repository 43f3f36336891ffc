package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Turns the {@code mamba.device} option (cpu, gpu, auto) into a {@link BatchForward}. */
final class BatchForwardResolver {
    private static final Logger LOG = LoggerFactory.getLogger(BatchForwardResolver.class);

    private final List<BatchForwardProvider> providers;

    BatchForwardResolver(List<BatchForwardProvider> providers) {
        this.providers = providers;
    }

    static BatchForwardResolver fromServiceLoader(ClassLoader loader) {
        List<BatchForwardProvider> found = new ArrayList<>();
        ServiceLoader.load(BatchForwardProvider.class, loader).forEach(found::add);
        return new BatchForwardResolver(found);
    }

    BatchForward create(String device, MambaModel model) {
        return create(device, model, new Configuration());
    }

    /** {@code options}: the operator's {@code mamba.*} options the implementation may read (e.g. the GPU precision). */
    BatchForward create(String device, MambaModel model, ReadableConfig options) {
        switch (device) {
            case "cpu":
                return require("cpu").create(model, options);
            case "gpu":
                return require("gpu").create(model, options);
            case "auto": {
                BatchForwardProvider gpu = find("gpu");
                if (gpu != null && gpu.available()) {
                    return gpu.create(model, options);
                }
                LOG.info("mamba.device=auto: no GPU implementation available ({}); using the CPU parallel implementation",
                        gpu == null ? "no 'gpu' BatchForwardProvider on the classpath" : gpu.unavailableReason());
                return require("cpu").create(model, options);
            }
            default:
                throw new IllegalArgumentException("mamba.device must be cpu, gpu or auto, got '" + device + "'");
        }
    }

    private BatchForwardProvider require(String device) {
        BatchForwardProvider p = find(device);
        if (p == null) {
            throw new IllegalStateException("mamba.device=" + device + ": no BatchForwardProvider for '" + device
                    + "' on the classpath (found: " + devices() + "); add the module that provides it, or use mamba.device=auto");
        }
        if (!p.available()) {
            throw new IllegalStateException("mamba.device=" + device + ": the '" + device
                    + "' implementation is not available on this machine: " + p.unavailableReason());
        }
        return p;
    }

    private BatchForwardProvider find(String device) {
        for (BatchForwardProvider p : providers) {
            if (p.device().equals(device)) {
                return p;
            }
        }
        return null;
    }

    private List<String> devices() {
        List<String> names = new ArrayList<>();
        providers.forEach(p -> names.add(p.device()));
        return names;
    }
}
