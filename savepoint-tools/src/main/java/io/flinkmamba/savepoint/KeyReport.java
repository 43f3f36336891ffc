package io.flinkmamba.savepoint;

/** What a savepoint holds for one key of a Mamba operator. A Flink POJO. */
public class KeyReport {
    public String key;
    /** Fingerprint and version label of the model that wrote the key's state (version null before format 3). */
    public String modelFingerprint;
    public String modelVersion;
    public long eventsSeen;
    /** Serialized size of the key's state (mamba-key-state) in the current format. */
    public long stateBytes;
    /** Backbone state floats; forecaster features (0 for plain scoring state). */
    public int stateFloats;
    public int forecastFeatures;
    /** Events in the key's replay buffer, and its capacity (0: no buffer). */
    public int replayEvents;
    public int replayCapacity;
    /** Events in the micro-batch buffer and the event-time ordering buffer, not yet scored. */
    public long pendingEvents;
    public long heldEvents;

    public KeyReport() {
    }
}
