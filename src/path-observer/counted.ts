/**
 * Counters a walk bumps, seen from a cache that replays the walk: the replay bumps them again through these
 * methods and never touches the counters' fields (OVS's xlate cache keeps XC_RULE entries and calls
 * rule_dpif_credit_stats on them, without knowing what a rule counts).
 */

/** A br0 flow, an iptables rule or a built-in chain's policy: one more packet of `bytes` bytes. */
export interface Counted {
  countPacket(bytes: number): void;
}

/** An interface's `ip -s link` counters: one frame sent or received. */
export interface CountedPort {
  countTransmit(): void;
  countReceive(): void;
}
