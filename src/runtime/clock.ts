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

/**
 * Per-hop latencies (ns): small fixed values so captures show the order of hops in time. Every hop advances the
 * virtual clock by one of these (the fast path replays the sums at the recorded offsets).
 */
export const HOP_NS = {
  /** A device or OVS port hands a frame on: a device transmit, a veth or tun0 crossing, VXLAN encap or decap. */
  port: 1_000,
  /** br0 forwards a frame to its output port. */
  bridge: 2_000,
  /** A frame crosses an L2 segment (the underlay, the internet). */
  wire: 20_000,
  /** An application's think time before it answers. */
  app: 20_000,
  /** The kernel answers by itself (ICMP echo). */
  kernelReply: 1_000,
} as const;
