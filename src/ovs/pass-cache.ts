/**
 * br0's exact-match pass cache, in the spirit of Open vSwitch's EMC (lib/dpif-netdev.c emc_lookup): what one pass
 * through the tables did for a given flow key, so the next packet with the same key replays it without a single
 * classifier lookup.
 *
 * Which flows match and which actions run in a pass (from table 0, or from a ct(table=N) recirculation) is a
 * function of the installed flows and groups and of a few key words only: the words some flow matches on, the
 * words an action reads (move/output_reg sources, partially written fields) and, with select groups, the words of
 * the bucket hash. The tables compute that word list per generation (FlowTables.cacheWords) and the cache keys on
 * those words plus the start table. The value is the flat list of what ran (PassRecipe): which rules matched (their
 * counters are bumped on replay) and which non-control actions executed, in order; replay executes those actions
 * on the live packet, so whatever they write or hand to the host is computed afresh. Translation refuses to store
 * a pass whose control flow could depend on anything else (see Xlate.untracedPass).
 *
 * The slots, hash and second-chance admission are src/cache/second-chance.ts; `invalidate()` (any flow or group
 * change) makes every slot stale at once. No allocation per lookup.
 */

import { SecondChanceTable } from '../cache/second-chance.js';
import type { CompiledOp } from './compile-actions.js';
import { N_KEY_WORDS, W_CT_MARK, W_CT_STATE, W_CT_ZONE } from './fields.js';
import type { FlowRule } from './flow-tables.js';

/** Slots (a power of two). */
const SLOTS = 1024;
/** Words per key: the start table, then at most the whole flow key. */
const STRIDE = N_KEY_WORDS + 1;

export class PassCache {
  private readonly table = new SecondChanceTable<PassRecipe>(SLOTS, STRIDE);
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
  get(slot: number): PassRecipe | null {
    return this.table.get(slot, this.words, this.len);
  }

  /** Store `value` for (key, table) in `slot`, valid while the generation is still `generation`. */
  store(slot: number, key: Int32Array, table: number, value: PassRecipe, generation: number): void {
    // Gathered again: a pass re-entered since slotOf() (br0 output to a host that walks another packet through br0)
    // has overwritten `words`.
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

/**
 * What one pass did, as a flat list of steps replayed in order: step i is an executed action (ops[i]), a
 * matched rule whose counters to bump (rules[i]), or a table miss with its drop reason (reasons[i]).
 * A stored recipe is never changed, except for its links.
 *
 * Links skip the cache lookup of a recirculated pass: the key a ct(table=N) step hands to the next pass is the
 * replayed pass's key (equal on every cached word) changed by the same actions, plus what conntrack answered.
 * So without NAT, (step, ct_state, ct_zone, ct_mark) names the next pass's recipe while the generation holds.
 */
export class PassRecipe {
  n = 0;
  readonly ops: (CompiledOp | null)[];
  readonly tails: boolean[];
  readonly rules: (FlowRule | null)[];
  readonly reasons: string[];
  // Links, per step; made on the first link (most stored passes are never linked from).
  private linkTo: (PassRecipe | null)[] | null = null;
  private linkGen: number[] = [];
  private linkState: number[] = [];
  private linkZone: number[] = [];
  private linkMark: number[] = [];

  constructor(n: number) {
    this.ops = new Array<CompiledOp | null>(n).fill(null);
    this.tails = new Array<boolean>(n).fill(false);
    this.rules = new Array<FlowRule | null>(n).fill(null);
    this.reasons = new Array<string>(n).fill('');
  }

  push(op: CompiledOp | null, tail: boolean, rule: FlowRule | null, reason: string): void {
    const i = this.n++;
    this.ops[i] = op;
    this.tails[i] = tail;
    this.rules[i] = rule;
    this.reasons[i] = reason;
  }

  /** A stored copy of a recording (a fresh object: a replay in progress may still be reading an older one). */
  static from(o: PassRecipe): PassRecipe {
    const r = new PassRecipe(o.n);
    r.n = o.n;
    for (let i = 0; i < o.n; i++) {
      r.ops[i] = o.ops[i]!;
      r.tails[i] = o.tails[i]!;
      r.rules[i] = o.rules[i]!;
      r.reasons[i] = o.reasons[i]!;
    }
    return r;
  }

  /** The recipe linked from ct step `i` for this conntrack answer, or null. */
  linked(i: number, generation: number, key: Int32Array): PassRecipe | null {
    return this.linkTo !== null &&
      this.linkGen[i] === generation &&
      this.linkState[i] === key[W_CT_STATE] &&
      this.linkZone[i] === key[W_CT_ZONE] &&
      this.linkMark[i] === key[W_CT_MARK]
      ? this.linkTo[i]!
      : null;
  }

  link(i: number, generation: number, key: Int32Array, to: PassRecipe): void {
    if (this.linkTo === null) {
      const n = this.ops.length;
      this.linkTo = new Array<PassRecipe | null>(n).fill(null);
      this.linkGen = new Array<number>(n).fill(0);
      this.linkState = new Array<number>(n).fill(0);
      this.linkZone = new Array<number>(n).fill(0);
      this.linkMark = new Array<number>(n).fill(0);
    }
    this.linkTo[i] = to;
    this.linkGen[i] = generation;
    this.linkState[i] = key[W_CT_STATE]!;
    this.linkZone[i] = key[W_CT_ZONE]!;
    this.linkMark[i] = key[W_CT_MARK]!;
  }
}
