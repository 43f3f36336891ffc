package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.Forecaster;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The upgrade policies applied to one key's state outside a running operator (the offline
 * {@code flink-mamba savepoint upgrade} tool): the same decisions as the operator's first-touch upgrade
 * ({@link KeyedMambaOperator}), both taken from {@link UpgradePolicy#stepFor}, with the new model's batched CPU forward
 * for REPLAY.
 * {@code UpgradePolicyTest.offlineRebuilderGivesWhatTheOperatorsPoliciesGive} checks that both give the same
 * states; {@link UpgradeRefusals} gives both the same refusal words.
 */
public abstract class StateRebuilder {
    protected final String version;
    protected final int replayWindow;
    protected final BatchForward forward;
    /** The new model's state rules: the same objects the operators run with. */
    private final KeyedMambaOperator.LoadedModel model;

    private StateRebuilder(String version, int replayWindow, KeyedMambaOperator.LoadedModel model) {
        this.version = version;
        this.replayWindow = replayWindow;
        this.model = model;
        this.forward = model.backbone().newCpuParallel();
    }

    /**
     * {@code replayWindow}: the replay buffer capacity the upgraded states keep (the new job's
     * {@code mamba.upgrade.replay-window}; 0 drops the buffers, negative keeps each as it is).
     * For a forecaster directory ({@code flink_mamba} block in config.json: the state of
     * {@code scoreAnomalies}) or a plain checkpoint (the state of {@code score}).
     */
    public static StateRebuilder load(Path modelDir, String version, int replayWindow, CalibrationSettings calibration) {
        String config;
        try {
            config = Files.readString(modelDir.resolve("config.json"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + modelDir.resolve("config.json"), e);
        }
        return config.contains("\"flink_mamba\"")
                ? new ForecastRebuilder(new ForecasterModel(Forecaster.load(modelDir), calibration), version, replayWindow)
                : new BlockRebuilder(MambaModel.load(modelDir), version, replayWindow);
    }

    public String fingerprint() {
        return model.fingerprint();
    }

    /** The new model's state shape, {backbone state floats, forecaster features (0: plain state)}: for checks before a CARRY. */
    public int[] stateShape() {
        KeyState s = freshState();
        return new int[] {s.state.length, s.forecast == null ? 0 : s.forecast.numFeatures()};
    }

    /** A fresh state of the new model, labelled with the new version. */
    protected KeyState freshState() {
        KeyState s = model.freshState();
        s.modelVersion = version;
        return s;
    }

    /** Floats per buffered input this model takes. */
    protected int inputWidth() {
        return model.inputWidth();
    }

    protected boolean fits(KeyState s) {
        return model.fits(s);
    }

    /** Advances {@code s} over {@code events} with one batched forward; outputs dropped. */
    protected abstract void advance(KeyState s, List<PendingEvent> events);

    /** What {@link #upgrade} did. */
    public enum Outcome { UNCHANGED, CARRIED, REPLAYED, RESET }

    /** The upgraded state and what was done. */
    public static final class Result {
        public final KeyState state;
        public final Outcome outcome;

        Result(KeyState state, Outcome outcome) {
            this.state = state;
            this.outcome = outcome;
        }
    }

    /** Applies {@code policy} to a key's state; throws IllegalStateException for FAIL and for CARRY of another shape. */
    public Result upgrade(String key, KeyState old, UpgradePolicy policy) {
        if (old.replay != null && old.replay.events().stream().anyMatch(e -> e.input.length != inputWidth())) {
            old.replay = null; // inputs of another feature count: nothing this model can replay
        }
        if (fingerprint().equals(old.modelFingerprint) && fits(old)) {
            old.modelVersion = version;
            return new Result(old, Outcome.UNCHANGED);
        }
        UpgradePolicy.Step step = policy.stepFor(old, fits(old));
        switch (step) {
            case REFUSE:
                throw new IllegalStateException(UpgradeRefusals.fail(key, from(old), to()) + "; policy FAIL");
            case REFUSE_SHAPE:
                throw new IllegalStateException(UpgradeRefusals.carry(key, old, from(old), freshState(), to()));
            case CARRY:
                old.modelFingerprint = fingerprint();
                old.modelVersion = version;
                return new Result(old, Outcome.CARRIED);
            case REPLAY:
                KeyState s = freshState();
                List<PendingEvent> events = old.replay.events();
                advance(s, events);
                s.eventsSeen = events.size();
                s.replay = resized(old.replay);
                return new Result(s, Outcome.REPLAYED);
            case RESET:
                break;
            default:
                throw new IllegalStateException("unknown upgrade step " + step);
        }
        KeyState s = freshState();
        s.replay = old.replay == null ? null : resized(old.replay);
        return new Result(s, Outcome.RESET);
    }

    private static String from(KeyState old) {
        return UpgradeRefusals.model(old.modelFingerprint, old.modelVersion, null);
    }

    private String to() {
        return UpgradeRefusals.model(fingerprint(), version, null);
    }

    private ReplayBuffer resized(ReplayBuffer b) {
        if (replayWindow < 0) {
            return b; // keep the buffer as it is
        }
        return replayWindow == 0 ? null : b.capacity() == replayWindow ? b : b.withCapacity(replayWindow);
    }

    private static final class BlockRebuilder extends StateRebuilder {
        private final MambaModel model;

        BlockRebuilder(MambaModel model, String version, int replayWindow) {
            super(version, replayWindow, new BlockModel(model));
            this.model = model;
        }

        @Override
        protected void advance(KeyState s, List<PendingEvent> events) {
            MambaBatch batch = new MambaBatch(model.config());
            int seq = batch.addSequence(s.state, 0, events.size());
            for (int t = 0; t < events.size(); t++) {
                batch.setInput(seq, t, events.get(t).input, 0);
            }
            forward.forward(batch);
            batch.getState(seq, s.state, 0);
        }
    }

    private static final class ForecastRebuilder extends StateRebuilder {
        private final ForecastScorer scorer;

        ForecastRebuilder(ForecasterModel model, String version, int replayWindow) {
            super(version, replayWindow, model);
            this.scorer = model.scorer;
        }

        @Override
        protected void advance(KeyState s, List<PendingEvent> events) {
            List<float[]> xs = new ArrayList<>(events.size());
            for (PendingEvent e : events) {
                xs.add(e.input);
            }
            scorer.scoreRun(s.forecast, xs, forward);
        }
    }
}
