package io.flinkmamba.examples.jobs;

/** A trade tick as the trade model sees it: log return of the price since the symbol's previous tick, log of the size. A Flink POJO. */
public class TradeFeature {
    public String symbol;
    public long eventTime;
    public double price;
    public double size;
    /** ln(price / previous price); 0 for a symbol's first tick (see {@link TradeFeatures}). */
    public double logReturn;
    public double logSize;

    public TradeFeature() {
    }

    public TradeFeature(String symbol, long eventTime, double price, double size, double logReturn, double logSize) {
        this.symbol = symbol;
        this.eventTime = eventTime;
        this.price = price;
        this.size = size;
        this.logReturn = logReturn;
        this.logSize = logSize;
    }

    @Override
    public String toString() {
        return "TradeFeature{" + symbol + "@" + eventTime + " price=" + price + " size=" + size + "}";
    }
}
