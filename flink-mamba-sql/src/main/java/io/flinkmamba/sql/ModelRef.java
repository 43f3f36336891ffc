package io.flinkmamba.sql;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Turns the {@code model} argument ({@code file:///dir}, {@code /dir} or a relative path) into a local directory. */
final class ModelRef {
    private ModelRef() {
    }

    static Path toPath(String model) {
        if (model == null || model.isBlank()) {
            throw new IllegalArgumentException("the model argument is empty: give a model directory, e.g. 'file:///models/general-univariate'");
        }
        String m = model.trim();
        if (m.startsWith("file:")) {
            try {
                return Paths.get(new URI(m));
            } catch (URISyntaxException | IllegalArgumentException e) {
                throw new IllegalArgumentException("model '" + model + "' is not a valid file URI (use file:///absolute/dir): " + e.getMessage(), e);
            }
        }
        int scheme = m.indexOf("://");
        if (scheme > 0) {
            throw new IllegalArgumentException("model '" + model + "': only local directories (file:///... or a path) are supported, not "
                    + m.substring(0, scheme) + "://; copy the model to every TaskManager (it is small)");
        }
        return Path.of(m);
    }
}
