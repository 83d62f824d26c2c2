/**
 * A direct-mapped table keyed by a short run of int32 header words, storing a key on its second miss: the one
 * mechanism under br0's pass cache (src/ovs/pass-cache.ts, in the spirit of OVS's exact-match cache in
 * lib/dpif-netdev.c, emc_lookup/emc_insert) and the whole-path fast path (src/fastpath/fast-path.ts, OVS's
 * datapath flow table).
 *
 * Slot layout: `stride` key words per slot in one Int32Array, a value and a generation stamp per slot; a colliding
 * key replaces the older one. `invalidate()` bumps the generation, which makes every slot stale at once.
 *
 * Second chance: a key is worth storing only the second time it misses, so one-off traffic (every new connection's
 * handshake) does not fill the table with entries nobody replays — OVS throttles EMC insertion for the same reason
 * (emc_probabilistic_insert), by chance where this is deterministic. Per slot, a second hash of the last key that
 * missed there once.
 *
 * Lookups hash the words with FNV-1a over int32s and a final mix: no allocation.
 */

export class SecondChanceTable<T> {
  private readonly mask: number;
  /** Current generation; a slot holds a valid entry only when stamped with it. */
  private generation = 1;
  private readonly stamps: Int32Array;
  private readonly keys: Int32Array;
  private readonly values: (T | null)[];
  private readonly seen: Int32Array;
  /** The second hash of the key of the last `slotOf` (never 0, the empty mark of `seen`). */
  private lastHash = 0;

  /** `slots` must be a power of two; keys are at most `stride` words. */
  constructor(
    slots: number,
    private readonly stride: number,
  ) {
    this.mask = slots - 1;
    this.stamps = new Int32Array(slots);
    this.keys = new Int32Array(slots * stride);
    this.values = new Array<T | null>(slots).fill(null);
    this.seen = new Int32Array(slots);
  }

  /** Forget everything. */
  invalidate(): void {
    this.generation++;
  }

  /** The current generation: store() with the one a walk started in, so a change during the walk leaves it stale. */
  get current(): number {
    return this.generation;
  }

  /** The slot of the key `key[0..len)`. */
  slotOf(key: Int32Array, len: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    this.lastHash = Math.imul(h, 0x9e3779b1) | 1;
    return h & this.mask;
  }

  /** True the first time the key of the last `slotOf` misses in its slot (then it is remembered, not stored). */
  firstMiss(slot: number): boolean {
    if (this.seen[slot] === this.lastHash) return false;
    this.seen[slot] = this.lastHash;
    return true;
  }

  /** The value stored in `slot` for exactly `key[0..len)` in the current generation, or null. */
  get(slot: number, key: Int32Array, len: number): T | null {
    if (this.stamps[slot] !== this.generation) return null;
    const ks = this.keys,
      base = slot * this.stride;
    for (let i = 0; i < len; i++) if (ks[base + i] !== key[i]) return null;
    return this.values[slot]!;
  }

  /** Store `value` for `key[0..len)` in `slot`, valid while the generation is still `generation`. */
  store(slot: number, key: Int32Array, len: number, value: T, generation: number): void {
    const ks = this.keys,
      base = slot * this.stride;
    for (let i = 0; i < len; i++) ks[base + i] = key[i]!;
    this.values[slot] = value;
    this.stamps[slot] = generation;
  }
}
