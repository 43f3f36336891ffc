package io.flinkmamba.operator;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.PojoField;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.util.OutputTag;

import java.util.List;

/** The DataStream entry point: {@code MambaOperators.score(events.keyBy(...), spec, extractor)}. */
public final class MambaOperators {
    /** The scoring operator's default uid: keep it stable so savepoints map back to it. */
    public static final String DEFAULT_UID = "mamba-scoring";

    private MambaOperators() {
    }

    public static <K, IN> ScoredStream<K, IN> score(KeyedStream<IN, K> input, MambaSpec spec, FeatureExtractor<IN> extractor) {
        TypeInformation<IN> inType = input.getType();
        OutputTag<RejectedEvent<IN>> tag = new OutputTag<>("mamba-rejected", rejectedType(inType));
        MambaScoringOperator<K, IN> op = new MambaScoringOperator<>(spec, extractor, inType, tag);
        SingleOutputStreamOperator<MambaScore<K>> scores = input
                .transform("Mamba scoring (" + spec.mode() + ", " + spec.modelVersion() + ")", scoreType(input.getKeyType()), op)
                .uid(DEFAULT_UID);
        return new ScoredStream<>(scores, scores.getSideOutput(tag));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public static <K> TypeInformation<MambaScore<K>> scoreType(TypeInformation<K> keyType) {
        try {
            Class<MambaScore<K>> c = (Class) MambaScore.class;
            return new PojoTypeInfo<>(c, List.of(
                    new PojoField(MambaScore.class.getField("key"), keyType),
                    new PojoField(MambaScore.class.getField("eventTime"), Types.LONG),
                    new PojoField(MambaScore.class.getField("output"), Types.PRIMITIVE_ARRAY(Types.FLOAT)),
                    new PojoField(MambaScore.class.getField("modelVersion"), Types.STRING),
                    new PojoField(MambaScore.class.getField("modelFingerprint"), Types.STRING),
                    new PojoField(MambaScore.class.getField("eventsSeen"), Types.LONG)));
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException(e);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public static <IN> TypeInformation<RejectedEvent<IN>> rejectedType(TypeInformation<IN> eventType) {
        try {
            Class<RejectedEvent<IN>> c = (Class) RejectedEvent.class;
            return new PojoTypeInfo<>(c, List.of(
                    new PojoField(RejectedEvent.class.getField("key"), Types.STRING),
                    new PojoField(RejectedEvent.class.getField("eventTime"), Types.LONG),
                    new PojoField(RejectedEvent.class.getField("reason"), Types.STRING),
                    new PojoField(RejectedEvent.class.getField("event"), eventType)));
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException(e);
        }
    }
}
