package dev.nightshift.engine;

import java.util.concurrent.atomic.LongAdder;

/** The running counts behind {@link DecodeStats}: one per engine, added to by every {@link GenerationLoop}. */
final class DecodeCounters {

    private final LongAdder steps = new LongAdder();
    private final LongAdder slotRows = new LongAdder();
    private final LongAdder liveRows = new LongAdder();
    private final LongAdder refills = new LongAdder();
    private final LongAdder finished = new LongAdder();

    /** One decode step over {@code width} rows, {@code live} of them generating. */
    void step(int width, int live) {
        steps.increment();
        slotRows.add(width);
        liveRows.add(live);
    }

    void refill() {
        refills.increment();
    }

    void finished() {
        finished.increment();
    }

    DecodeStats snapshot() {
        return new DecodeStats(steps.sum(), slotRows.sum(), liveRows.sum(), refills.sum(), finished.sum());
    }
}
