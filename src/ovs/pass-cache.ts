/**
 * br0's exact-match pass cache, in the spirit of Open vSwitch's EMC (lib/dpif-netdev.c emc_lookup): what one pass
 * through the tables did for a given flow key, so the next packet with the same key replays it without a single
 * classifier lookup.
 *
 * Which flows match and which actions run in a pass (from table 0, or from a ct(table=N) recirculation) is a
 * function of the installed flows and groups and of a few key words only: the words some flow matches on, the
 * words an action reads (move/output_reg sources, partially written fields) and, with select groups, the words of
 * the bucket hash. The bridge computes that word list per generation (Bridge.cacheWords) and the cache keys on
 * those words plus the start table. The value is the flat list of what ran: which rules matched (their
 * counters are bumped on replay) and which non-control actions executed, in order; replay executes those actions
 * on the live packet, so whatever they write or hand to the host is computed afresh. The bridge refuses to store a
 * pass whose control flow could depend on anything else (see Bridge.untracedPass).
 *
 * The slots, hash and second-chance admission are src/cache/second-chance.ts; `invalidate()` (any flow or group
 * change) makes every slot stale at once. No allocation per lookup.
 */

import { SecondChanceTable } from '../cache/second-chance.js';
import { N_KEY_WORDS } from './fields.js';

/** Slots (a power of two). */
const SLOTS = 1024;
/** Words per key: the start table, then at most the whole flow key. */
const STRIDE = N_KEY_WORDS + 1;

export class PassCache<T> {
  private readonly table = new SecondChanceTable<T>(SLOTS, STRIDE);
  /** The key words the cache keys on (indices into the flow key). */
  private keyWords: Int32Array = new Int32Array(0);
  /** The cache key of the last slotOf/store: the start table, then the chosen key words. */
  private readonly words = new Int32Array(STRIDE);
  private len = 1;

  /** Key on these words from now on (invalidates everything). */
  setWords(words: Int32Array): void {
    this.keyWords = words;
    this.len = words.length + 1;
    this.table.invalidate();
  }

  /** Forget everything (flows or groups changed). */
  invalidate(): void {
    this.table.invalidate();
  }

  /** The generation a pass starts in; store() with it so a change during the pass leaves the entry stale. */
  get current(): number {
    return this.table.current;
  }

  /** The slot of (key, table); get() and firstMiss() then ask about this key. */
  slotOf(key: Int32Array, table: number): number {
    this.gather(key, table);
    return this.table.slotOf(this.words, this.len);
  }

  /** True the first time the key of the last `slotOf` misses in its slot (then it is remembered, not stored). */
  firstMiss(slot: number): boolean {
    return this.table.firstMiss(slot);
  }

  /** The pass stored in `slot` for exactly the (key, table) of the last `slotOf`, or null. */
  get(slot: number): T | null {
    return this.table.get(slot, this.words, this.len);
  }

  /** Store `value` for (key, table) in `slot`, valid while the generation is still `generation`. */
  store(slot: number, key: Int32Array, table: number, value: T, generation: number): void {
    this.gather(key, table);
    this.table.store(slot, this.words, this.len, value, generation);
  }

  private gather(key: Int32Array, table: number): void {
    const w = this.words,
      ws = this.keyWords;
    w[0] = table;
    for (let i = 0; i < ws.length; i++) w[i + 1] = key[ws[i]!]!;
  }
}
