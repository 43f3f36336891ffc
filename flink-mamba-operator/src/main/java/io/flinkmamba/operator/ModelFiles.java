package io.flinkmamba.operator;

import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.FileSystem;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * The files of a model directory, fetched for a hot swap and checked against the update's SHA-256.
 *
 * <p>The digest ({@link #digest}) is the SHA-256 of the text that {@code sha256sum config.json
 * model.safetensors} prints in the model directory: for each of {@link #FILES}, in this order, the
 * lowercase hex SHA-256 of the file's bytes, two spaces, the file name and a newline (UTF-8). So
 * {@code (cd DIR && sha256sum config.json model.safetensors) | sha256sum} computes it. Other files
 * (e.g. MODEL.md) are not part of the model and not fetched.
 */
public final class ModelFiles {
    /** What a model directory must hold, in digest order. */
    public static final List<String> FILES = List.of("config.json", "model.safetensors");

    private ModelFiles() {
    }

    /**
     * Copies {@link #FILES} from {@code uri} (a local path, a {@code file:} URI or any Flink file
     * system URI) into {@code localDir} (created), at most {@code maxBytes} in all, and returns the
     * digest of what was copied. Throws IOException naming the file when one is missing or too large.
     */
    public static String fetch(String uri, Path localDir, long maxBytes) throws IOException {
        org.apache.flink.core.fs.Path dir = toFlinkPath(uri);
        FileSystem fs = dir.getFileSystem();
        Files.createDirectories(localDir);
        StringBuilder manifest = new StringBuilder();
        long left = maxBytes;
        for (String name : FILES) {
            org.apache.flink.core.fs.Path file = new org.apache.flink.core.fs.Path(dir, name);
            if (!fs.exists(file)) {
                throw new IOException("model file " + file + " does not exist");
            }
            MessageDigest sha = sha256();
            long copied = 0;
            try (FSDataInputStream in = fs.open(file); OutputStream out = Files.newOutputStream(localDir.resolve(name))) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    copied += n;
                    if (copied > left) {
                        throw new IOException("model files at " + uri + " are larger than the limit of " + maxBytes
                                + " bytes (" + MambaOptions.MODEL_UPDATE_MAX_BYTES.key() + ")");
                    }
                    sha.update(buf, 0, n);
                    out.write(buf, 0, n);
                }
            }
            left -= copied;
            manifest.append(HexFormat.of().formatHex(sha.digest())).append("  ").append(name).append('\n');
        }
        return HexFormat.of().formatHex(sha256().digest(manifest.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** The digest of a local model directory (see the class comment). */
    public static String digest(Path dir) throws IOException {
        StringBuilder manifest = new StringBuilder();
        for (String name : FILES) {
            MessageDigest sha = sha256();
            try (InputStream in = Files.newInputStream(dir.resolve(name))) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    sha.update(buf, 0, n);
                }
            }
            manifest.append(HexFormat.of().formatHex(sha.digest())).append("  ").append(name).append('\n');
        }
        return HexFormat.of().formatHex(sha256().digest(manifest.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** Whether {@code s} is 64 hex digits (either case). */
    static boolean isSha256(String s) {
        return s != null && s.length() == 64 && s.chars().allMatch(c -> Character.digit(c, 16) >= 0);
    }

    static String normalise(String sha) {
        return sha.trim().toLowerCase(Locale.ROOT);
    }

    private static org.apache.flink.core.fs.Path toFlinkPath(String uri) throws IOException {
        try {
            URI u = new URI(uri);
            if (u.getScheme() != null && u.getScheme().length() > 1) { // not a Windows drive letter
                return new org.apache.flink.core.fs.Path(u);
            }
        } catch (java.net.URISyntaxException e) {
            // a plain local path with characters a URI does not allow
        }
        return new org.apache.flink.core.fs.Path(Paths.get(uri).toAbsolutePath().toUri());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }

    /** Prints the digest of a model directory: {@code java ... ModelFiles DIR}. */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ModelFiles MODEL_DIR");
            System.exit(2);
        }
        System.out.println(digest(Paths.get(args[0])));
    }
}
