package io.flinkmamba.connectors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.Decoder;
import org.apache.avro.util.Utf8;

/**
 * A binary Avro decoder over one record's bytes that refuses any length or item count larger than
 * the record itself. Avro allocates a string, byte buffer or array from the length it reads before
 * reading the data, so a few corrupt bytes could otherwise ask for gigabytes: an OutOfMemoryError
 * in a TaskManager, and a crash loop when the job replays the same record.
 */
final class BoundedDecoder extends Decoder {
  private final BinaryDecoder in;
  private final long maxLength;

  BoundedDecoder(BinaryDecoder in, long maxLength) {
    this.in = in;
    this.maxLength = maxLength;
  }

  boolean isEnd() throws IOException {
    return in.isEnd();
  }

  private int checkedLength(long length, String what) {
    if (length < 0 || length > maxLength) {
      throw new AvroRuntimeException(
          what + " of " + length + " in a record of only " + maxLength + " bytes");
    }
    return (int) length;
  }

  private long checkedCount(long count) {
    // A negative block count is followed by the block's size in bytes; the magnitude still counts items.
    if (count == Long.MIN_VALUE || Math.abs(count) > maxLength) {
      throw new AvroRuntimeException(
          "collection block of " + count + " items in a record of only " + maxLength + " bytes");
    }
    return count;
  }

  private byte[] readLengthPrefixed(String what) throws IOException {
    byte[] bytes = new byte[checkedLength(in.readLong(), what)];
    in.readFixed(bytes, 0, bytes.length);
    return bytes;
  }

  @Override
  public Utf8 readString(Utf8 old) throws IOException {
    return new Utf8(readLengthPrefixed("string length"));
  }

  @Override
  public String readString() throws IOException {
    return new String(readLengthPrefixed("string length"), StandardCharsets.UTF_8);
  }

  @Override
  public ByteBuffer readBytes(ByteBuffer old) throws IOException {
    return ByteBuffer.wrap(readLengthPrefixed("bytes length"));
  }

  @Override
  public long readArrayStart() throws IOException {
    return checkedCount(in.readArrayStart());
  }

  @Override
  public long arrayNext() throws IOException {
    return checkedCount(in.arrayNext());
  }

  @Override
  public long readMapStart() throws IOException {
    return checkedCount(in.readMapStart());
  }

  @Override
  public long mapNext() throws IOException {
    return checkedCount(in.mapNext());
  }

  // Everything below allocates nothing from what it reads: plain delegation.

  @Override
  public void readNull() throws IOException {
    in.readNull();
  }

  @Override
  public boolean readBoolean() throws IOException {
    return in.readBoolean();
  }

  @Override
  public int readInt() throws IOException {
    return in.readInt();
  }

  @Override
  public long readLong() throws IOException {
    return in.readLong();
  }

  @Override
  public float readFloat() throws IOException {
    return in.readFloat();
  }

  @Override
  public double readDouble() throws IOException {
    return in.readDouble();
  }

  @Override
  public void skipString() throws IOException {
    in.skipString();
  }

  @Override
  public void skipBytes() throws IOException {
    in.skipBytes();
  }

  @Override
  public void readFixed(byte[] bytes, int start, int length) throws IOException {
    in.readFixed(bytes, start, length);
  }

  @Override
  public void skipFixed(int length) throws IOException {
    in.skipFixed(length);
  }

  @Override
  public int readEnum() throws IOException {
    return in.readEnum();
  }

  @Override
  public long skipArray() throws IOException {
    return in.skipArray();
  }

  @Override
  public long skipMap() throws IOException {
    return in.skipMap();
  }

  @Override
  public int readIndex() throws IOException {
    return in.readIndex();
  }
}
