package io.flinkmamba.sql;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.table.factories.ModuleFactory;
import org.apache.flink.table.module.Module;

import java.util.Set;

/** {@code LOAD MODULE mamba}: found through the service loader, takes no options. */
public final class MambaModuleFactory implements ModuleFactory {
    public static final String IDENTIFIER = "mamba";

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of();
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of();
    }

    @Override
    public Module createModule(Context context) {
        return new MambaModule();
    }
}
