/**
 * br0's exact-match pass cache, in the spirit of Open vSwitch's EMC: what one pass through the tables did for a
 * given flow key, so the next packet with the same key replays it without a single classifier lookup.
 *
 * Which flows match and which actions run in a pass (from table 0, or from a ct(table=N) recirculation) is a
 * function of the installed flows and groups and of a few key words only: the words some flow matches on, the
 * words an action reads (move/output_reg sources, partially written fields) and, with select groups, the words of
 * the bucket hash. The bridge computes that word list per generation (Bridge.cacheWords) and the cache keys on
 * those words plus the start table. The value is the flat list of what ran: which rules matched (their counters
 * are bumped on replay) and which non-control actions executed, in order; replay executes those actions on the
 * live packet, so whatever they write or hand to the host is computed afresh. The bridge refuses to store a pass
 * whose control flow could depend on anything else (see Bridge.untracedPass).
 *
 * Direct-mapped slots stamped with a generation: `invalidate()` (any flow or group change) makes every slot
 * stale at once. Lookups hash the chosen words with FNV-1a over int32s: no allocation.
 */

import { N_KEY_WORDS } from './fields.js';

/** Slots (a power of two). */
const SLOTS = 1024;
/** Words per slot: at most the whole key, then the start table. */
const STRIDE = N_KEY_WORDS + 1;

export class PassCache<T> {
  /** Current generation; a slot holds a valid entry only when stamped with it. */
  private generation = 1;
  private readonly stamps = new Int32Array(SLOTS);
  private readonly words = new Int32Array(SLOTS * STRIDE);
  private readonly values: (T | null)[] = new Array<T | null>(SLOTS).fill(null);
  /** The key words the cache keys on (indices into the flow key). */
  private keyWords: Int32Array = new Int32Array(0);
  /**
   * Second chance: a pass is stored the second time its key misses, so one-off flows (every new connection's
   * handshake) do not fill the cache with recipes nobody replays. Per slot, a second hash of the last key that
   * missed there once.
   */
  private readonly seen = new Int32Array(SLOTS);
  private lastHash = 0;

  /** Key on these words from now on (invalidates everything). */
  setWords(words: Int32Array): void {
    this.keyWords = words;
    this.generation++;
  }

  /** Forget everything (flows or groups changed). */
  invalidate(): void {
    this.generation++;
  }

  /** The generation a pass starts in; store() with it so a change during the pass leaves the entry stale. */
  get current(): number {
    return this.generation;
  }

  /** The slot of (key, table). */
  slotOf(key: Int32Array, table: number): number {
    const ws = this.keyWords;
    let h = Math.imul(0x811c9dc5 ^ table, 0x01000193);
    for (let i = 0; i < ws.length; i++) h = Math.imul(h ^ key[ws[i]!]!, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    this.lastHash = Math.imul(h, 0x9e3779b1) | 1; // never 0, the empty mark
    return h & (SLOTS - 1);
  }

  /** True the first time the key of the last `slotOf` misses in its slot (then it is remembered, not stored). */
  firstMiss(slot: number): boolean {
    if (this.seen[slot] === this.lastHash) return false;
    this.seen[slot] = this.lastHash;
    return true;
  }

  /** The value stored in `slot` for exactly (key, table), or null. */
  get(slot: number, key: Int32Array, table: number): T | null {
    if (this.stamps[slot] !== this.generation) return null;
    const w = this.words,
      ws = this.keyWords;
    const base = slot * STRIDE;
    if (w[base + N_KEY_WORDS] !== table) return null;
    for (let i = 0; i < ws.length; i++) if (w[base + i] !== key[ws[i]!]) return null;
    return this.values[slot]!;
  }

  /** Store `value` for (key, table) in `slot`, valid while the generation is still `generation`. */
  store(slot: number, key: Int32Array, table: number, value: T, generation: number): void {
    const base = slot * STRIDE;
    const w = this.words,
      ws = this.keyWords;
    for (let i = 0; i < ws.length; i++) w[base + i] = key[ws[i]!]!;
    w[base + N_KEY_WORDS] = table;
    this.values[slot] = value;
    this.stamps[slot] = generation;
  }
}
