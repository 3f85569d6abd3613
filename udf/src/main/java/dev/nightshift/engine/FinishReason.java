package dev.nightshift.engine;

/** Why a row stopped generating. */
public enum FinishReason {
    /** An end-of-sequence token or a stop string. */
    STOP,
    /** max_new_tokens or the context limit. */
    LENGTH,
    /** The row failed (context overflow under the error policy, bad text, engine failure); see the result's error. */
    ERROR
}
