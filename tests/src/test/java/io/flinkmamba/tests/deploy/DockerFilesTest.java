package io.flinkmamba.tests.deploy;

import io.flinkmamba.examples.generator.KafkaGenerator;
import io.flinkmamba.examples.jobs.JobConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No Docker engine runs here, so the deployment files are checked against what the build makes: the
 * compose file and the Kubernetes manifest parse, every service is there, the jar the Dockerfile copies
 * is the one job-examples packages, the main classes they name are in it with a {@code main}, the job
 * arguments pass the job's own option parser, and the model paths exist in what the image copies.
 */
class DockerFilesTest {
    private static final String USRLIB_JAR = "/opt/flink/usrlib/flink-mamba-job.jar";
    private static final String MODELS_IN_IMAGE = "/opt/flink-mamba/models/";
    private static Path root;
    private static Path jobJar;

    @BeforeAll
    static void paths() {
        root = Path.of(System.getProperty("flinkmamba.repo.root", "..")).toAbsolutePath().normalize();
        jobJar = Path.of(System.getProperty("flinkmamba.job.jar", "missing")).toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(jobJar), "job jar built by job-examples' package phase: " + jobJar);
    }

    @Test
    void dockerfileCopiesTheJobJarAndModels() throws Exception {
        String dockerfile = Files.readString(root.resolve("docker/Dockerfile"));
        Matcher copy = Pattern.compile("(?m)^COPY\\s+(\\S+)\\s+" + Pattern.quote(USRLIB_JAR) + "\\s*$").matcher(dockerfile);
        assertTrue(copy.find(), "Dockerfile copies the job jar to " + USRLIB_JAR);
        assertEquals(root.relativize(jobJar).toString(), copy.group(1), "the jar the Dockerfile copies is the one the build packages");
        assertTrue(dockerfile.contains("COPY models/ " + MODELS_IN_IMAGE), "Dockerfile copies the shipped models");
        assertTrue(dockerfile.contains("--add-modules jdk.incubator.vector"), "Flink JVMs get the Vector API module");
    }

    @Test
    void composeServicesAgreeWithTheBuild() throws Exception {
        Map<String, Object> compose = yaml(root.resolve("docker/docker-compose.yml"));
        Map<String, Object> services = map(compose.get("services"));
        for (String s : List.of("kafka", "jobmanager", "taskmanager", "taskmanager-gpu", "generator")) {
            assertNotNull(services.get(s), "service " + s);
        }
        Map<String, Object> jm = map(services.get("jobmanager"));
        List<String> command = new ArrayList<>(Arrays.asList(((String) jm.get("command")).trim().split("\\s+")));
        assertEquals("standalone-job", command.remove(0), "the JobManager runs the job in application mode");
        assertEquals("--job-classname", command.remove(0));
        String jobClass = command.remove(0);
        assertRunnableFromJar(jobClass);
        assertJobArgsAccepted(command);

        Map<String, Object> tm = map(services.get("taskmanager"));
        assertEquals("taskmanager", tm.get("command"));
        assertEquals(2, ((Number) map(tm.get("deploy")).get("replicas")).intValue(), "two TaskManagers");
        Map<String, Object> gpu = map(services.get("taskmanager-gpu"));
        assertEquals(List.of("gpu"), gpu.get("profiles"));
        Map<String, Object> device = map(((List<?>) map(map(map(gpu.get("deploy")).get("resources")).get("reservations")).get("devices")).get(0));
        assertEquals("nvidia", device.get("driver"));

        // Checkpoints go to the volume every Flink container mounts.
        Map<String, Object> flinkConf = yaml((String) map(jm.get("environment")).get("FLINK_PROPERTIES"));
        assertTrue(String.valueOf(flinkConf.get("execution.checkpointing.dir")).startsWith("file:///checkpoints/"));
        for (String s : List.of("jobmanager", "taskmanager", "taskmanager-gpu")) {
            assertTrue(String.valueOf(map(services.get(s)).get("volumes")).contains("flink-checkpoints:/checkpoints"), s + " mounts checkpoints");
        }

        Map<String, Object> gen = map(services.get("generator"));
        List<?> entry = (List<?>) gen.get("entrypoint");
        assertTrue(String.valueOf(entry.get(2)).startsWith(USRLIB_JAR + ":"), "generator runs from the job jar");
        assertRunnableFromJar(String.valueOf(entry.get(3)));
        List<?> genArgs = (List<?>) gen.get("command");
        for (Object a : genArgs) {
            String arg = String.valueOf(a);
            if (arg.startsWith("--")) {
                assertTrue(KafkaGenerator.OPTIONS.contains(arg.substring(2)), "generator option " + arg);
            }
        }
    }

    @Test
    void kubernetesDeploymentAgreesWithTheImage() throws Exception {
        Map<String, Object> deployment = yaml(root.resolve("docker/k8s/flink-deployment.yaml"));
        assertEquals("FlinkDeployment", deployment.get("kind"));
        Map<String, Object> job = map(map(deployment.get("spec")).get("job"));
        assertEquals("local://" + USRLIB_JAR, job.get("jarURI"));
        assertRunnableFromJar((String) job.get("entryClass"));
        List<String> args = new ArrayList<>();
        ((List<?>) job.get("args")).forEach(a -> args.add(String.valueOf(a)));
        assertJobArgsAccepted(args);
        assertEquals("savepoint", job.get("upgradeMode"), "spec changes go through a savepoint");
    }

    private static void assertJobArgsAccepted(List<String> args) {
        JobConfig config = assertDoesNotThrow(() -> JobConfig.fromArgs(args.toArray(new String[0]), "unused"),
                "the job's option parser accepts " + args);
        assertTrue(config.model().startsWith(MODELS_IN_IMAGE), "model inside the image: " + config.model());
        Path shipped = root.resolve("models").resolve(config.model().substring(MODELS_IN_IMAGE.length()));
        assertTrue(Files.isRegularFile(shipped.resolve("config.json")) && Files.isRegularFile(shipped.resolve("model.safetensors")),
                "the model the deployment names is shipped: " + shipped);
    }

    private static void assertRunnableFromJar(String className) throws Exception {
        try (JarFile jar = new JarFile(jobJar.toFile())) {
            assertNotNull(jar.getEntry(className.replace('.', '/') + ".class"), className + " is in " + jobJar.getFileName());
        }
        Method main = Class.forName(className).getMethod("main", String[].class);
        assertTrue(Modifier.isStatic(main.getModifiers()) && Modifier.isPublic(main.getModifiers()), className + ".main");
    }

    private static Map<String, Object> yaml(Path file) throws Exception {
        return yaml(Files.readString(file));
    }

    private static Map<String, Object> yaml(String text) {
        Object doc = new Load(LoadSettings.builder().build()).loadFromString(text);
        return map(resolveMergeKeys(doc));
    }

    /** Compose files use YAML 1.1 merge keys ({@code <<: *anchor}), which a YAML 1.2 parser leaves as a key. */
    @SuppressWarnings("unchecked")
    private static Object resolveMergeKeys(Object node) {
        if (node instanceof Map) {
            Map<String, Object> in = (Map<String, Object>) node;
            Map<String, Object> out = new LinkedHashMap<>();
            Object merge = in.get("<<");
            if (merge instanceof Map) {
                out.putAll(map(resolveMergeKeys(merge)));
            }
            in.forEach((k, v) -> {
                if (!"<<".equals(k)) {
                    out.put(k, resolveMergeKeys(v));
                }
            });
            return out;
        }
        if (node instanceof List) {
            List<Object> out = new ArrayList<>();
            ((List<?>) node).forEach(v -> out.add(resolveMergeKeys(v)));
            return out;
        }
        return node;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        assertTrue(o instanceof Map, "expected a mapping, got " + o);
        return (Map<String, Object>) o;
    }
}
