package io.flinkmamba.operator;

import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaModel;

import java.nio.file.Path;
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
    protected LoadedModel load(Path dir) {
        return new BlockModel(MambaModel.load(dir));
    }

    @Override
    protected void use(LoadedModel loaded) {
        model = ((BlockModel) loaded).model;
        fingerprint = model.fingerprint();
        hidden = model.config().hiddenSize();
        adapter = spec.inputAdapter();
        adapter.open(model.config());
        stepper = null; // the next per-event step creates the new model's stepper
    }

    @Override
    protected long stateBytesPerKey() {
        return model.stateBytes() + Long.BYTES + fingerprint.length() + modelVersion().length() + 8
                + (long) settings.replayWindow * (Long.BYTES + Integer.BYTES + (long) Float.BYTES * hidden);
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
        return score(key, eventTime, out, s.eventsSeen);
    }

    @Override
    protected List<List<MambaScore<K>>> scoreRuns(BatchForward batchForward, MambaBatch batch, List<K> keys,
                                                  List<KeyState> states, List<List<PendingEvent>> runs) {
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
                outs.add(score(keys.get(seq), evs.get(t).eventTime, out, s.eventsSeen + t + 1));
            }
            outputs.add(outs);
        }
        return outputs;
    }

    private MambaScore<K> score(K key, long eventTime, float[] out, long eventsSeen) {
        MambaScore<K> s = new MambaScore<>(key, eventTime, out, modelVersion(), fingerprint, eventsSeen);
        s.warmingUp = eventsSeen <= settings.scoreWarmupEvents;
        return s;
    }

    /** The loaded model, for tests. */
    MambaModel model() {
        return model;
    }
}
