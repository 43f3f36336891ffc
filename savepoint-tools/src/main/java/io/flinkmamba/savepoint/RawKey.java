package io.flinkmamba.savepoint;

/** One key's Mamba operator state as read from a savepoint, still serialized (a Flink POJO: no Kryo). */
public class RawKey {
    public String key;
    /** The key state in the current format (KeyStateSerializer); null when the key has none. */
    public byte[] state;
    /** Micro-batch buffer events, PendingEventSerializer one after another. */
    public byte[] pending;
    public int pendingCount;
    public int heldCount;

    public RawKey() {
    }
}
