package io.flinkmamba.operator;

import java.io.Serializable;
import java.util.Arrays;

/** A keyed event with features and an event time, as a user job would have. */
public class TestEvent implements Serializable {
    private static final long serialVersionUID = 1L;

    public String key;
    public long time;
    public float[] features;

    public TestEvent() {
    }

    public TestEvent(String key, long time, float[] features) {
        this.key = key;
        this.time = time;
        this.features = features;
    }

    @Override
    public String toString() {
        return "TestEvent{" + key + "@" + time + " " + Arrays.toString(features) + "}";
    }

    /** Features from the event, event time from its own field. */
    static final class Extractor implements FeatureExtractor<TestEvent> {
        private static final long serialVersionUID = 1L;

        @Override
        public float[] features(TestEvent event) {
            return event.features;
        }

        @Override
        public long eventTime(TestEvent event, long recordTimestamp) {
            return event.time;
        }
    }
}
