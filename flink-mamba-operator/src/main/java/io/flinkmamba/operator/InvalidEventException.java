package io.flinkmamba.operator;

/** An event that cannot be scored; its message is the reason given on the rejected side output. */
public final class InvalidEventException extends Exception {
    private static final long serialVersionUID = 1L;

    public InvalidEventException(String reason) {
        super(reason, null, false, false);
    }
}
