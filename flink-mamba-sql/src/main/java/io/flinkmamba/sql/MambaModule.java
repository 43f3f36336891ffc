package io.flinkmamba.sql;

import org.apache.flink.table.functions.FunctionDefinition;
import org.apache.flink.table.module.Module;

import java.util.Optional;
import java.util.Set;

/**
 * Makes {@code MAMBA_SCORE} a system function of every catalog: {@code LOAD MODULE mamba;} once the
 * jar is on the classpath ({@code ADD JAR}, or in the distribution's lib/).
 */
public final class MambaModule implements Module {
    public static final String FUNCTION_NAME = "mamba_score";

    @Override
    public Set<String> listFunctions() {
        return Set.of(FUNCTION_NAME);
    }

    @Override
    public Optional<FunctionDefinition> getFunctionDefinition(String name) {
        return FUNCTION_NAME.equalsIgnoreCase(name) ? Optional.of(new MambaScoreFunction()) : Optional.empty();
    }
}
