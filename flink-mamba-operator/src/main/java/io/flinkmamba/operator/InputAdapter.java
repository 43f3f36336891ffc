package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.MambaConfig;

import java.io.Serializable;

/**
 * Maps an event's (already validated, finite) features to the model's input of hidden_size floats.
 * The seam for a later input projection from F features; today only {@link IdentityInputAdapter}.
 */
public interface InputAdapter extends Serializable {
    /** Called once in the operator's {@code open()}; throws if the adapter cannot feed this model. */
    void open(MambaConfig config);

    /**
     * Returns the model input (hidden_size floats; may be {@code features} itself), or throws
     * {@link InvalidEventException} with the reason the event cannot be scored.
     */
    float[] toModelInput(float[] features) throws InvalidEventException;
}
