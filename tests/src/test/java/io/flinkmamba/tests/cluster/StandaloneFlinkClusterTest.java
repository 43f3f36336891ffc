package io.flinkmamba.tests.cluster;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The launcher itself: processes start, register, and a SIGKILLed TaskManager is noticed and replaced. */
class StandaloneFlinkClusterTest {
    @Test
    void killedTaskManagerIsNoticedAndReplaced(@TempDir Path dir) throws Exception {
        try (StandaloneFlinkCluster cluster = StandaloneFlinkCluster.start(dir, 2, Map.of())) {
            assertEquals(2, cluster.rest().taskManagerCount());
            cluster.killTaskManager(0);
            cluster.awaitTaskManagers(1, Duration.ofSeconds(60));
            cluster.startTaskManager();
            cluster.awaitTaskManagers(2, Duration.ofSeconds(60));
            assertTrue(Files.size(cluster.logDir().resolve("jobmanager.log")) > 0);
        }
    }
}
