package io.flinkmamba.connectors;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * Avro single-object encoding of one generated record type: {@code C3 01}, the writer schema's
 * 8-byte CRC-64-AVRO fingerprint (little-endian), then the binary body. The fingerprint lets the
 * reader find the schema a record was written with and resolve it to the current one, so a record
 * written before a field was added still reads, with the field's default.
 *
 * <p>The reader knows the current schema and any older writer schemas given to it. Decoding never
 * throws anything but {@link DecodingException}, whose message names what is wrong with the bytes.
 * Serializable; the readers are built lazily on the task side. Not thread-safe: one per task.
 */
public final class AvroRecordCodec<T extends SpecificRecordBase> implements Serializable {
  private static final long serialVersionUID = 1L;
  static final byte MARKER_0 = (byte) 0xC3;
  static final byte MARKER_1 = (byte) 0x01;
  static final int HEADER_BYTES = 10;

  private final Class<T> recordClass;
  private final List<String> olderWriterSchemas;

  private transient Schema readerSchema;
  private transient Map<Long, Schema> writerSchemas;
  private transient Map<Long, DatumReader<T>> readers;
  private transient DatumWriter<T> writer;
  private transient byte[] header;
  private transient BinaryEncoder reusedEncoder;

  private AvroRecordCodec(Class<T> recordClass, List<String> olderWriterSchemas) {
    this.recordClass = recordClass;
    this.olderWriterSchemas = olderWriterSchemas;
  }

  /** A codec for a generated record class that reads and writes its current schema. */
  public static <T extends SpecificRecordBase> AvroRecordCodec<T> of(Class<T> recordClass) {
    return new AvroRecordCodec<>(recordClass, List.of());
  }

  /**
   * A codec that also reads records written with an older version of the schema (one that Avro
   * schema resolution can turn into the current one, e.g. a field added since has a default).
   */
  public AvroRecordCodec<T> withOlderWriterSchema(Schema older) {
    List<String> schemas = new ArrayList<>(olderWriterSchemas);
    schemas.add(older.toString());
    AvroRecordCodec<T> codec = new AvroRecordCodec<>(recordClass, List.copyOf(schemas));
    codec.init(); // refuses an incompatible schema here, when the job is built
    return codec;
  }

  public Class<T> recordClass() {
    return recordClass;
  }

  public Schema schema() {
    init();
    return readerSchema;
  }

  /** The record in single-object encoding with the current schema. */
  public byte[] encode(T record) {
    init();
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream(64);
      out.write(header);
      reusedEncoder = EncoderFactory.get().directBinaryEncoder(out, reusedEncoder);
      writer.write(record, reusedEncoder);
      reusedEncoder.flush();
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode " + recordClass.getSimpleName(), e);
    }
  }

  /** Decodes single-object-encoded bytes; any problem is a {@link DecodingException} with the reason. */
  public T decode(byte[] bytes) throws DecodingException {
    init();
    if (bytes == null) {
      throw new DecodingException("no value (null or tombstone record)");
    }
    if (bytes.length < HEADER_BYTES) {
      throw new DecodingException(
          "too short for Avro single-object encoding: "
              + bytes.length
              + " bytes, the header alone is "
              + HEADER_BYTES);
    }
    if (bytes[0] != MARKER_0 || bytes[1] != MARKER_1) {
      throw new DecodingException(
          String.format(
              "not Avro single-object encoding: starts with 0x%02X 0x%02X, expected 0xC3 0x01",
              bytes[0] & 0xff, bytes[1] & 0xff));
    }
    long fingerprint = readFingerprint(bytes);
    DatumReader<T> reader = readerFor(fingerprint);
    BoundedDecoder in =
        new BoundedDecoder(
            DecoderFactory.get().binaryDecoder(bytes, HEADER_BYTES, bytes.length - HEADER_BYTES, null),
            bytes.length - HEADER_BYTES);
    T record;
    try {
      record = reader.read(null, in);
    } catch (EOFException e) {
      throw new DecodingException(
          "truncated " + recordClass.getSimpleName() + ": the bytes end inside the record", e);
    } catch (IOException | RuntimeException e) {
      throw new DecodingException(
          "malformed " + recordClass.getSimpleName() + " body: " + e, e);
    }
    try {
      if (!in.isEnd()) {
        throw new DecodingException(
            "bytes left over after a complete " + recordClass.getSimpleName()
                + ": not one record of the schema its fingerprint names");
      }
    } catch (IOException e) {
      throw new DecodingException("unreadable " + recordClass.getSimpleName() + " body: " + e, e);
    }
    return record;
  }

  private DatumReader<T> readerFor(long fingerprint) throws DecodingException {
    DatumReader<T> reader = readers.get(fingerprint);
    if (reader != null) {
      return reader;
    }
    Schema writerSchema = writerSchemas.get(fingerprint);
    if (writerSchema == null) {
      Schema other = ProjectSchemas.find(fingerprint);
      if (other != null) {
        throw new DecodingException(
            "wrong record type: written as "
                + other.getFullName()
                + ", expected "
                + readerSchema.getFullName());
      }
      throw new DecodingException(
          String.format(
              "unknown writer schema fingerprint %016x: not a known version of %s",
              fingerprint, readerSchema.getFullName()));
    }
    reader = new SpecificDatumReader<>(writerSchema, readerSchema, SpecificData.getForClass(recordClass));
    readers.put(fingerprint, reader);
    return reader;
  }

  private static long readFingerprint(byte[] bytes) {
    long fingerprint = 0;
    for (int i = 0; i < 8; i++) {
      fingerprint |= (bytes[2 + i] & 0xffL) << (8 * i);
    }
    return fingerprint;
  }

  private void init() {
    if (readerSchema != null) {
      return;
    }
    readerSchema = SpecificData.get().getSchema(recordClass);
    writerSchemas = new HashMap<>();
    readers = new HashMap<>();
    long current = ProjectSchemas.fingerprint(readerSchema);
    writerSchemas.put(current, readerSchema);
    readers.put(current, new SpecificDatumReader<>(readerSchema, readerSchema, SpecificData.getForClass(recordClass)));
    for (String json : olderWriterSchemas) {
      Schema older = new Schema.Parser().parse(json);
      // An older schema that cannot resolve is a deployment mistake: refuse it now, not per record.
      SchemaCompatibility.SchemaPairCompatibility compatibility =
          SchemaCompatibility.checkReaderWriterCompatibility(readerSchema, older);
      if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
        throw new IllegalArgumentException(
            "older writer schema of " + older.getFullName() + " cannot be read as the current one: "
                + compatibility.getDescription());
      }
      writerSchemas.put(ProjectSchemas.fingerprint(older), older);
    }
    writer = new SpecificDatumWriter<>(readerSchema, SpecificData.getForClass(recordClass));
    header = new byte[HEADER_BYTES];
    header[0] = MARKER_0;
    header[1] = MARKER_1;
    for (int i = 0; i < 8; i++) {
      header[2 + i] = (byte) (current >>> (8 * i));
    }
  }
}
