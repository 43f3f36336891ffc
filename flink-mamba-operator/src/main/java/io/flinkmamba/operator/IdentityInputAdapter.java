package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.MambaConfig;

/** Passes features through unchanged: their count must equal the model's hidden_size. */
public final class IdentityInputAdapter implements InputAdapter {
    private static final long serialVersionUID = 1L;
    private int hiddenSize = -1;

    @Override
    public void open(MambaConfig config) {
        hiddenSize = config.hiddenSize();
    }

    @Override
    public float[] toModelInput(float[] features) throws InvalidEventException {
        if (features.length != hiddenSize) {
            throw new InvalidEventException("wrong feature count: got " + features.length
                    + ", the model's hidden_size is " + hiddenSize);
        }
        return features;
    }
}
