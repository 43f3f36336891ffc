package io.flinkmamba.connectors;

import io.flinkmamba.connectors.avro.DeadLetter;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/** Passes decoded values on and sends dead letters to the {@link #DEAD_LETTERS} side output. */
public final class DeadLetterSplitter<T> extends ProcessFunction<Either<DeadLetter, T>, T> {
  private static final long serialVersionUID = 1L;

  public static final OutputTag<DeadLetter> DEAD_LETTERS =
      new OutputTag<>("dead-letters", new AvroTypeInfo<>(DeadLetter.class));

  @Override
  public void processElement(Either<DeadLetter, T> element, Context ctx, Collector<T> out) {
    if (element.isRight()) {
      out.collect(element.right());
    } else {
      ctx.output(DEAD_LETTERS, element.left());
    }
  }
}
