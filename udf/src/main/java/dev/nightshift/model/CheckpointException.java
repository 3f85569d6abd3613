package dev.nightshift.model;

import java.io.IOException;

/** A checkpoint that cannot be read as a Llama model: its message names the file, the tensor or field, and the fix. */
public class CheckpointException extends IOException {

    private static final long serialVersionUID = 1L;

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
