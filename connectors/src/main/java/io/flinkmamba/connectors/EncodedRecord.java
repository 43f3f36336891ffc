package io.flinkmamba.connectors;

/** A record already encoded for Kafka: key and value bytes (a Flink POJO). */
public class EncodedRecord {
  public byte[] key;
  public byte[] value;

  public EncodedRecord() {}

  public EncodedRecord(byte[] key, byte[] value) {
    this.key = key;
    this.value = value;
  }
}
