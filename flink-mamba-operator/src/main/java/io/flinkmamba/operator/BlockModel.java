package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.MambaModel;

/**
 * A plain Mamba checkpoint as the operators and the offline rebuilder see it: the state a key starts
 * from and which states it can advance ({@link MambaScoringOperator}, {@link StateRebuilder}).
 */
final class BlockModel implements KeyedMambaOperator.LoadedModel {
    final MambaModel model;

    BlockModel(MambaModel model) {
        this.model = model;
    }

    @Override
    public MambaModel backbone() {
        return model;
    }

    @Override
    public String fingerprint() {
        return model.fingerprint();
    }

    @Override
    public int inputWidth() {
        return model.config().hiddenSize();
    }

    @Override
    public KeyState freshState() {
        return new KeyState(model.newState(), 0, model.fingerprint());
    }

    @Override
    public boolean fits(KeyState s) {
        return s.state.length == model.config().stateFloats();
    }
}
