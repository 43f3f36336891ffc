package io.flinkmamba.examples.jobs;

import io.flinkmamba.connectors.DeadLetterSplitter;
import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.connectors.avro.TradeTick;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Per symbol, in arrival order: the log return of the price since the symbol's previous tick and the
 * log of the size. <b>A symbol's first tick</b> has no previous price: it goes on with a log return
 * of 0. That costs nothing: the forecaster does not score a key's first event (there is no forecast
 * yet), it only seeds the key's normaliser, and 0 is the natural prior mean of a return. So every
 * valid tick gets exactly one score, the first one marked as warming up.
 *
 * <p>A tick whose price or size is not a finite positive number has no logarithm: it becomes a dead
 * letter (side output {@link DeadLetterSplitter#DEAD_LETTERS}) with the reason, and the symbol's
 * previous price stays as it was.
 */
final class TradeFeatures extends KeyedProcessFunction<String, TradeTick, TradeFeature> {
    private static final long serialVersionUID = 1L;
    private final String inputTopic;
    private transient ValueState<Double> lastPrice;

    TradeFeatures(String inputTopic) {
        this.inputTopic = inputTopic;
    }

    @Override
    public void open(OpenContext context) {
        lastPrice = getRuntimeContext().getState(new ValueStateDescriptor<>("last-price", Types.DOUBLE));
    }

    @Override
    public void processElement(TradeTick tick, Context ctx, Collector<TradeFeature> out) throws Exception {
        double price = tick.getPrice(), size = tick.getSize();
        if (!(price > 0 && Double.isFinite(price)) || !(size > 0 && Double.isFinite(size))) {
            ctx.output(DeadLetterSplitter.DEAD_LETTERS, DeadLetter.newBuilder()
                    .setTopic(inputTopic).setPartition(-1).setOffset(-1).setTimestamp(tick.getEventTimeMillis())
                    .setReason("trade tick without a logarithm: price and size must be finite and > 0, got price="
                            + price + " size=" + size)
                    .setKey(ByteBuffer.wrap(tick.getSymbol().getBytes(StandardCharsets.UTF_8)))
                    .setValue(ByteBuffer.wrap(tick.toString().getBytes(StandardCharsets.UTF_8)))
                    .build());
            return;
        }
        Double previous = lastPrice.value();
        double logReturn = previous == null ? 0.0 : Math.log(price / previous);
        lastPrice.update(price);
        out.collect(new TradeFeature(tick.getSymbol(), tick.getEventTimeMillis(), price, size, logReturn, Math.log(size)));
    }
}
