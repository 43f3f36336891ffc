package io.flinkmamba.connectors;

/** A record's bytes could not be turned into a record; the message says why, for a human. */
public final class DecodingException extends Exception {
  private static final long serialVersionUID = 1L;

  public DecodingException(String reason) {
    super(reason);
  }

  public DecodingException(String reason, Throwable cause) {
    super(reason, cause);
  }
}
