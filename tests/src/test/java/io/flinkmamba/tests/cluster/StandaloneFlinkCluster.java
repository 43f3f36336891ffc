package io.flinkmamba.tests.cluster;

import io.flinkmamba.connectors.testing.MavenClasspath;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A standalone Flink 2.2.1 session cluster as separate JVM processes on 127.0.0.1: one JobManager
 * ({@code StandaloneSessionClusterEntrypoint}) and TaskManagers ({@code TaskManagerRunner}) that can be
 * killed with SIGKILL and replaced, as on a real cluster. The Flink distribution is not on Maven
 * Central, so the processes run from the classpath its lib/ would hold, resolved by Maven
 * ({@code flink-cluster-pom.xml}); TaskManager memory settings come from Flink's own
 * {@code BashJavaUtils}, as the distribution's scripts do.
 */
public final class StandaloneFlinkCluster implements AutoCloseable {
    /**
     * What the distribution's config.yaml passes every Flink JVM ({@code env.java.default-opts.all}):
     * Flink reflects into these JDK packages (e.g. when a jar is run through the REST API), plus the
     * Vector API module our kernels need.
     */
    private static final List<String> JVM_FLAGS = List.of("--add-modules=jdk.incubator.vector",
            "--add-exports=java.base/sun.net.util=ALL-UNNAMED", "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
            "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
            "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.net=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/java.text=ALL-UNNAMED", "--add-opens=java.base/java.time=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

    private final Path workDir;
    private final Path confDir;
    private final String classpath;
    private final int restPort;
    private final List<String> tmJvmArgs;
    private final List<String> tmDynamicConfig;
    private Process jobManager;
    private final List<Process> taskManagers = new ArrayList<>();
    private int started;
    private final FlinkRestClient rest;

    private StandaloneFlinkCluster(Path workDir, Map<String, String> extraConfig) throws IOException, InterruptedException {
        this.workDir = workDir;
        this.confDir = workDir.resolve("conf");
        Files.createDirectories(confDir);
        Files.createDirectories(workDir.resolve("log"));
        this.classpath = MavenClasspath.resolve("standalone-flink-2.2.1", StandaloneFlinkCluster.class,
                "flink-cluster-pom.xml", System.getenv("FLINK_MAMBA_FLINK_CLASSPATH"));
        this.restPort = freePort();
        Map<String, String> config = new LinkedHashMap<>();
        config.put("jobmanager.rpc.address", "127.0.0.1");
        config.put("jobmanager.rpc.port", Integer.toString(freePort()));
        config.put("jobmanager.bind-host", "127.0.0.1");
        config.put("rest.address", "127.0.0.1");
        config.put("rest.bind-address", "127.0.0.1");
        config.put("rest.port", Integer.toString(restPort));
        config.put("taskmanager.host", "127.0.0.1");
        config.put("taskmanager.bind-host", "127.0.0.1");
        config.put("taskmanager.numberOfTaskSlots", "2");
        config.put("taskmanager.memory.process.size", "1600m");
        config.put("taskmanager.memory.managed.fraction", "0.2");
        config.put("jobmanager.memory.process.size", "800m");
        // A killed TaskManager is noticed within seconds, not the default 50 s.
        config.put("heartbeat.interval", "1000");
        config.put("heartbeat.timeout", "6000");
        config.put("restart-strategy.type", "fixed-delay");
        config.put("restart-strategy.fixed-delay.attempts", "20");
        config.put("restart-strategy.fixed-delay.delay", "1 s");
        config.put("execution.checkpointing.dir", workDir.resolve("checkpoints").toUri().toString());
        config.put("execution.checkpointing.savepoint-dir", workDir.resolve("savepoints").toUri().toString());
        config.put("web.upload.dir", workDir.resolve("uploads").toString());
        config.put("io.tmp.dirs", workDir.resolve("tmp").toString());
        config.putAll(extraConfig);
        Files.createDirectories(workDir.resolve("uploads"));
        Files.createDirectories(workDir.resolve("tmp"));
        StringBuilder yaml = new StringBuilder();
        config.forEach((k, v) -> yaml.append(k).append(": ").append(quote(v)).append('\n'));
        Files.writeString(confDir.resolve("config.yaml"), yaml.toString());
        Files.writeString(confDir.resolve("log4j.properties"), String.join("\n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.file.ref = FileAppender",
                "appender.file.name = FileAppender",
                "appender.file.type = File",
                "appender.file.fileName = ${sys:log.file}",
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} - %m%n",
                "logger.kafka.name = org.apache.kafka",
                "logger.kafka.level = WARN", ""));
        List<String>[] tmParams = bashJavaUtils("GET_TM_RESOURCE_PARAMS");
        this.tmJvmArgs = tmParams[0];
        this.tmDynamicConfig = tmParams[1];
        this.rest = new FlinkRestClient("http://127.0.0.1:" + restPort);
    }

    /** Starts a JobManager and {@code taskManagers} TaskManagers and waits until all are registered. */
    public static StandaloneFlinkCluster start(Path workDir, int taskManagers, Map<String, String> extraConfig)
            throws IOException, InterruptedException {
        StandaloneFlinkCluster cluster = new StandaloneFlinkCluster(workDir, extraConfig);
        try {
            cluster.jobManager = cluster.launch("jobmanager", "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                    List.of("-Xmx512m"), List.of());
            for (int i = 0; i < taskManagers; i++) {
                cluster.startTaskManager();
            }
            cluster.awaitTaskManagers(taskManagers, Duration.ofSeconds(120));
            return cluster;
        } catch (IOException | InterruptedException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    public FlinkRestClient rest() {
        return rest;
    }

    public String restUrl() {
        return "http://127.0.0.1:" + restPort;
    }

    /** Starts one more TaskManager process; returns its index for {@link #killTaskManager}. */
    public int startTaskManager() throws IOException {
        Process tm = launch("taskmanager-" + (started++), "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                tmJvmArgs, tmDynamicConfig);
        taskManagers.add(tm);
        return taskManagers.size() - 1;
    }

    /** SIGKILL, as when a machine dies: no shutdown hooks, no goodbye to the JobManager. */
    public void killTaskManager(int index) throws InterruptedException {
        Process tm = taskManagers.get(index);
        tm.destroyForcibly();
        tm.waitFor();
    }

    /** Waits until exactly {@code count} TaskManagers are registered with the JobManager. */
    public void awaitTaskManagers(int count, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int seen = -1;
        while (System.nanoTime() < deadline) {
            checkJobManagerAlive();
            try {
                seen = rest.taskManagerCount();
                if (seen == count) {
                    return;
                }
            } catch (IOException notUpYet) {
                // the REST endpoint answers a few seconds after the JVM starts
            }
            Thread.sleep(500);
        }
        throw new IOException("expected " + count + " TaskManagers registered within " + timeout + ", saw " + seen
                + "; logs in " + workDir.resolve("log"));
    }

    private void checkJobManagerAlive() throws IOException {
        if (jobManager != null && !jobManager.isAlive()) {
            throw new IOException("the JobManager exited with " + jobManager.exitValue() + ":\n"
                    + MavenClasspath.tail(workDir.resolve("log/jobmanager.log"), 4000));
        }
    }

    public Path logDir() {
        return workDir.resolve("log");
    }

    private Process launch(String name, String mainClass, List<String> jvmArgs, List<String> dynamicConfig) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JVM_FLAGS);
        command.addAll(jvmArgs);
        command.add("-Dlog.file=" + workDir.resolve("log").resolve(name + ".log"));
        command.add("-Dlog4j.configurationFile=" + confDir.resolve("log4j.properties").toUri());
        command.add("-cp");
        command.add(classpath);
        command.add(mainClass);
        command.add("--configDir");
        command.add(confDir.toString());
        command.addAll(dynamicConfig);
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(workDir.resolve("log").resolve(name + ".out").toFile())
                .start();
    }

    /** Runs Flink's BashJavaUtils: [0] = JVM arguments, [1] = dynamic configuration ("-D k=v" pairs). */
    @SuppressWarnings("unchecked")
    private List<String>[] bashJavaUtils(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classpath, "org.apache.flink.runtime.util.bash.BashJavaUtils", command, "--configDir", confDir.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException("BashJavaUtils " + command + " failed:\n" + out);
        }
        List<String> results = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.startsWith("BASH_JAVA_UTILS_EXEC_RESULT:")) {
                results.add(line.substring("BASH_JAVA_UTILS_EXEC_RESULT:".length()).trim());
            }
        }
        if (results.size() < 2) {
            throw new IOException("unexpected BashJavaUtils output:\n" + out);
        }
        List<String> dynamic = new ArrayList<>();
        String[] parts = results.get(1).split(" ");
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].equals("-D") && i + 1 < parts.length) {
                dynamic.add("-D");
                dynamic.add(parts[++i]);
            }
        }
        return new List[] {Arrays.asList(results.get(0).split(" ")), dynamic};
    }

    private static String quote(String v) {
        return v.matches("[A-Za-z0-9_.:/\\- ]*") && !v.contains(": ") ? v : "'" + v.replace("'", "''") + "'";
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        for (Process tm : taskManagers) {
            tm.destroyForcibly();
        }
        if (jobManager != null) {
            jobManager.destroy();
            try {
                if (!jobManager.waitFor(java.util.concurrent.TimeUnit.SECONDS.toMillis(10), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    jobManager.destroyForcibly();
                }
            } catch (InterruptedException e) {
                jobManager.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        for (Process tm : taskManagers) {
            try {
                tm.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
