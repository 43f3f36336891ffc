package io.flinkmamba.tests.cluster;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/** The few calls of Flink's REST API that a deployment script makes: upload and run a jar, watch, stop. */
public final class FlinkRestClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public FlinkRestClient(String base) {
        this.base = base;
    }

    public int taskManagerCount() throws IOException, InterruptedException {
        return get("/taskmanagers").path("taskmanagers").size();
    }

    /** POST /jars/upload (multipart); returns the jar id. */
    public String uploadJar(Path jar) throws IOException, InterruptedException {
        String boundary = "----flinkmamba" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                + jar.getFileName() + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.write(Files.readAllBytes(jar));
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/jars/upload"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
        JsonNode reply = send(request);
        String filename = reply.path("filename").asText();
        if (!"success".equals(reply.path("status").asText()) || filename.isEmpty()) {
            throw new IOException("jar upload failed: " + reply);
        }
        return Path.of(filename).getFileName().toString();
    }

    /** POST /jars/:id/run; returns the job id. */
    public String runJar(String jarId, String entryClass, List<String> args, int parallelism, String savepointPath)
            throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        body.put("entryClass", entryClass);
        body.putArray("programArgsList").addAll(args.stream().map(JSON.getNodeFactory()::textNode).toList());
        body.put("parallelism", parallelism);
        if (savepointPath != null) {
            body.put("savepointPath", savepointPath);
            body.put("allowNonRestoredState", false);
        }
        JsonNode reply = post("/jars/" + jarId + "/run", body);
        String jobId = reply.path("jobid").asText();
        if (jobId.isEmpty()) {
            throw new IOException("job submission failed: " + reply);
        }
        return jobId;
    }

    public String jobState(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId).path("state").asText();
    }

    public long completedCheckpoints(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId + "/checkpoints").path("counts").path("completed").asLong();
    }

    /** Job-wide restart count as the JobManager reports it ("numRestarts" in the job details' metrics). */
    public JsonNode jobDetails(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId);
    }

    /** Stop-with-savepoint; waits for it and returns the savepoint path. */
    public String stopWithSavepoint(String jobId, Path targetDirectory, Duration timeout) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        body.put("targetDirectory", targetDirectory.toUri().toString());
        body.put("drain", false);
        String requestId = post("/jobs/" + jobId + "/stop", body).path("request-id").asText();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode status = get("/jobs/" + jobId + "/savepoints/" + requestId);
            if ("COMPLETED".equals(status.path("status").path("id").asText())) {
                JsonNode op = status.path("operation");
                if (op.has("failure-cause")) {
                    throw new IOException("stop-with-savepoint failed: " + op.path("failure-cause"));
                }
                return op.path("location").asText();
            }
            Thread.sleep(300);
        }
        throw new IOException("stop-with-savepoint of " + jobId + " did not finish within " + timeout);
    }

    /** How many failures the JobManager's exception history holds for the job. */
    public int failureCount(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId + "/exceptions").path("exceptionHistory").path("entries").size();
    }

    /** A metric's value from a metrics endpoint (e.g. {@code /jobs/:id/metrics}); -1 when absent. */
    public long metric(String endpoint, String name) throws IOException, InterruptedException {
        for (JsonNode m : get(endpoint + "?get=" + name)) {
            if (name.equals(m.path("id").asText())) {
                return Long.parseLong(m.path("value").asText());
            }
        }
        return -1;
    }

    public void cancel(String jobId) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/jobs/" + jobId + "?mode=cancel"))
                .method("PATCH", HttpRequest.BodyPublishers.noBody()).build();
        http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).GET().build());
    }

    private JsonNode post(String path, JsonNode body) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build());
    }

    private JsonNode send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() >= 300) {
            throw new IOException(request.method() + " " + request.uri() + " -> " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body());
    }
}
