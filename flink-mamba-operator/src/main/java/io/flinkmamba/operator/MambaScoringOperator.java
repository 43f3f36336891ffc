package io.flinkmamba.operator;

import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.MambaModel;

import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * Advances a Mamba state per key with every event and emits the model's output for it
 * ({@link MambaOperators#score}). The keyed machinery (validation, event-time ordering, micro-batch
 * buffering and flushing, state, metrics) is {@link KeyedMambaOperator}'s.
 */
public class MambaScoringOperator<K, IN> extends KeyedMambaOperator<K, IN, MambaScore<K>> {
    private static final long serialVersionUID = 1L;

    private transient MambaModel model;
    private transient String fingerprint;
    private transient int hidden;
    private transient InputAdapter adapter;
    private transient RecurrentStepper stepper;

    public MambaScoringOperator(MambaSpec<IN> spec, MambaSettings settings) {
        super(spec, settings);
    }

    @Override
    protected MambaModel loadModel() {
        model = MambaModel.load(Paths.get(spec.modelPath()));
        fingerprint = model.fingerprint();
        hidden = model.config().hiddenSize();
        adapter = spec.inputAdapter();
        adapter.open(model.config());
        return model;
    }

    @Override
    protected String modelFingerprint() {
        return fingerprint;
    }

    @Override
    protected long stateBytesPerKey() {
        return model.stateBytes() + Long.BYTES + fingerprint.length() + 8;
    }

    @Override
    protected KeyState freshState() {
        return new KeyState(model.newState(), 0, fingerprint);
    }

    @Override
    protected boolean fits(KeyState s) {
        return s.state.length == model.config().stateFloats();
    }

    @Override
    protected float[] modelInput(float[] features) throws InvalidEventException {
        return adapter.toModelInput(features);
    }

    @Override
    protected MambaScore<K> scoreOne(K key, KeyState s, long eventTime, float[] input) {
        if (stepper == null) {
            stepper = model.newStepper();
        }
        float[] out = new float[hidden];
        stepper.step(s.state, 0, input, 0, out, 0);
        return new MambaScore<>(key, eventTime, out, spec.modelVersion(), fingerprint, s.eventsSeen);
    }

    @Override
    protected List<List<MambaScore<K>>> scoreRuns(List<K> keys, List<KeyState> states, List<List<PendingEvent>> runs) {
        int n = keys.size();
        batch.clear();
        for (int i = 0; i < n; i++) {
            List<PendingEvent> evs = runs.get(i);
            // a CPU forward advances the key's state array in place: no copy into the batch and back
            int seq = batchForward.sharesStates()
                    ? batch.addSequenceSharingState(states.get(i).state, 0, evs.size())
                    : batch.addSequence(states.get(i).state, 0, evs.size());
            for (int t = 0; t < evs.size(); t++) {
                batch.setInput(seq, t, evs.get(t).input, 0);
            }
        }
        batchForward.forward(batch);
        List<List<MambaScore<K>>> outputs = new ArrayList<>(n);
        for (int seq = 0; seq < n; seq++) {
            KeyState s = states.get(seq);
            List<PendingEvent> evs = runs.get(seq);
            batch.getState(seq, s.state, 0); // no-op for a shared state
            List<MambaScore<K>> outs = new ArrayList<>(evs.size());
            for (int t = 0; t < evs.size(); t++) {
                float[] out = new float[hidden];
                batch.getOutput(seq, t, out, 0);
                outs.add(new MambaScore<>(keys.get(seq), evs.get(t).eventTime, out, spec.modelVersion(), fingerprint,
                        s.eventsSeen + t + 1));
            }
            outputs.add(outs);
        }
        return outputs;
    }

    /** The loaded model, for tests. */
    MambaModel model() {
        return model;
    }
}
