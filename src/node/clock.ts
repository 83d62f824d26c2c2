/**
 * The virtual clock: integer nanoseconds since the start of a run. Every timestamp in a capture and every
 * conntrack timeout comes from here, never from the wall clock, so runs are byte-for-byte reproducible.
 */
export class VirtualClock {
  /** Nanoseconds since the epoch of the run. */
  now = 0;

  constructor(
    /**
     * Absolute start of the run in whole seconds since 1970 (fixed, so files are reproducible). Kept apart from
     * `now` because ns since 1970 does not fit a double exactly; capture writers add the two as 64-bit.
     */
    readonly epochSeconds = 1_795_000_000,
  ) {}

  /** Move the clock forward. Returns nothing: `now` is a double past 2^31 and a returned double is a heap number. */
  advance(ns: number): void {
    this.now += ns;
  }
}

/** Per-hop latencies (ns): small fixed values so captures show the order of hops in time. */
export const HOP_NS = {
  veth: 1_000,
  bridge: 2_000,
  kernel: 3_000,
  wire: 20_000,
  host: 50_000, // an application answering
} as const;
