/**
 * One OpenFlow table's classifier: tuple-space search, the scheme Open vSwitch's own classifier uses.
 *
 * Rules are grouped by their mask "shape" (which key words they match and with which masks). Each shape is a
 * subtable with one hash map keyed on the masked key words, so a lookup costs one hash probe per shape, not
 * one comparison per rule: OpenShift's per-pod flows share a handful of shapes, and lookup time stays flat
 * from 100 to 100k flows. Subtables are kept sorted by their highest priority, so the search stops as soon as
 * no remaining subtable can beat the best rule found.
 *
 * Ties: OVS leaves the choice between overlapping rules of equal priority undefined. We pick the rule added
 * first (lowest `seq`), which makes every run reproducible.
 *
 * In front of the search sits a lookup cache, in the spirit of OVS's exact-match cache: the result of a lookup
 * depends only on the key's words masked by the union of every subtable's masks, so those masked words index a
 * direct-mapped table of recent results (a miss, "no rule", is cached too). One probe replaces one per shape.
 * Every insert or remove starts a new generation, which invalidates all cached results at once.
 */

import { N_MATCH_WORDS } from './fields.js';
import type { Match } from './match.js';

/** What the classifier needs of a rule. */
export interface ClassifierRule {
  readonly match: Match;
  readonly priority: number;
  /** Insertion order, for the equal-priority tie break. */
  readonly seq: number;
}

class Subtable<R extends ClassifierRule> {
  readonly words: Int32Array;
  readonly masks: Int32Array;
  readonly buckets = new Map<number, R[]>();
  maxPriority = -1;
  count = 0;
  /** Rules per priority, so removing the top rule finds the new maximum without scanning every rule. */
  readonly priorities = new Map<number, number>();

  constructor(words: number[], masks: number[]) {
    this.words = Int32Array.from(words);
    this.masks = Int32Array.from(masks);
  }

  /** Hash of the masked words of `key` (or of a rule's values, which are already masked). */
  hash(key: Int32Array, masked: boolean): number {
    let h = 0x811c9dc5 | 0;
    const ws = this.words,
      ms = this.masks;
    for (let i = 0; i < ws.length; i++) {
      const v = masked ? key[ws[i]!]! : key[ws[i]!]! & ms[i]!;
      h = Math.imul(h ^ v, 0x01000193);
      h ^= h >>> 15;
    }
    return h;
  }

  /** True when `key` matches `r` on this subtable's words. */
  same(r: R, key: Int32Array): boolean {
    const ws = this.words,
      ms = this.masks,
      vs = r.match.values;
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      if ((key[w]! & ms[i]!) !== vs[w]) return false;
    }
    return true;
  }
}

function shapeOf(match: Match): { words: number[]; masks: number[]; shape: string } {
  const words: number[] = [];
  const masks: number[] = [];
  for (let w = 0; w < N_MATCH_WORDS; w++) {
    const m = match.masks[w]!;
    if (m !== 0) {
      words.push(w);
      masks.push(m);
    }
  }
  return { words, masks, shape: `${words.join(',')}/${masks.join(',')}` };
}

/** Rule order inside a bucket: higher priority first, then older first. */
function before(a: ClassifierRule, b: ClassifierRule): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}

/** Slots of the lookup cache (a power of two). */
const CACHE_SLOTS = 1024;
/** Below this many shapes the search is cheap enough that the cache would not pay for itself. */
const CACHE_MIN_SHAPES = 3;

export class Classifier<R extends ClassifierRule> {
  /** Sorted by maxPriority, highest first. */
  private subtables: Subtable<R>[] = [];
  private readonly byShape = new Map<string, Subtable<R>>();
  private n = 0;

  // ---- lookup cache (see the file comment)
  /** Bumped by every change; a slot is valid only when stamped with the current generation. */
  private generation = 1;
  /** Generation the union below was computed for (0: never). */
  private unionGeneration = 0;
  /** Key words any subtable matches on, and the OR of their masks. */
  private unionWords = new Int32Array(0);
  private unionMasks = new Int32Array(0);
  /** Per slot: generation stamp, the masked union words it holds, and its result (null: no rule matches). */
  private slotGeneration: Int32Array | null = null;
  private slotWords = new Int32Array(0);
  private readonly slotRule: (R | null)[] = [];

  get size(): number {
    return this.n;
  }

  /** Number of distinct mask shapes (each costs one hash probe per lookup). */
  get shapeCount(): number {
    return this.subtables.length;
  }

  /** The rule with exactly this match and priority (what add-flow replaces), if any. */
  findExact(match: Match, priority: number): R | undefined {
    const st = this.byShape.get(shapeOf(match).shape);
    const list = st?.buckets.get(st.hash(match.values, true));
    return list?.find((r) => r.priority === priority && r.match.equals(match));
  }

  insert(r: R): void {
    this.generation++;
    const { words, masks, shape } = shapeOf(r.match);
    let st = this.byShape.get(shape);
    if (!st) {
      st = new Subtable<R>(words, masks);
      this.byShape.set(shape, st);
      this.subtables.push(st);
    }
    const h = st.hash(r.match.values, true);
    let list = st.buckets.get(h);
    if (!list) st.buckets.set(h, (list = []));
    let i = list.length;
    while (i > 0 && before(r, list[i - 1]!)) i--;
    list.splice(i, 0, r);
    st.count++;
    st.priorities.set(r.priority, (st.priorities.get(r.priority) ?? 0) + 1);
    this.n++;
    if (r.priority > st.maxPriority) {
      st.maxPriority = r.priority;
      this.sortSubtables();
    }
  }

  /** Remove a rule (by identity). Returns false when it was not present. */
  remove(r: R): boolean {
    const st = this.byShape.get(shapeOf(r.match).shape);
    if (st) {
      this.generation++;
      const list = st.buckets.get(st.hash(r.match.values, true));
      const i = list ? list.indexOf(r) : -1;
      if (i < 0) return false;
      list!.splice(i, 1);
      if (list!.length === 0) st.buckets.delete(st.hash(r.match.values, true));
      st.count--;
      const left = st.priorities.get(r.priority)! - 1;
      if (left === 0) st.priorities.delete(r.priority);
      else st.priorities.set(r.priority, left);
      this.n--;
      if (st.count === 0) {
        this.subtables = this.subtables.filter((s) => s !== st);
        this.byShape.delete(shapeOf(r.match).shape);
      } else if (left === 0 && r.priority === st.maxPriority) {
        st.maxPriority = Math.max(...st.priorities.keys());
        this.sortSubtables();
      }
      return true;
    }
    return false;
  }

  /** The highest-priority rule matching `key`, or undefined. Allocates nothing once the cache exists. */
  lookup(key: Int32Array): R | undefined {
    if (this.subtables.length < CACHE_MIN_SHAPES) return this.search(key);
    if (this.unionGeneration !== this.generation) this.prepareCache();
    const ws = this.unionWords,
      ms = this.unionMasks,
      n = ws.length;
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < n; i++) {
      h = Math.imul(h ^ (key[ws[i]!]! & ms[i]!), 0x01000193);
      h ^= h >>> 15;
    }
    const slot = h & (CACHE_SLOTS - 1);
    const stored = this.slotWords,
      base = slot * n;
    if (this.slotGeneration![slot] === this.generation) {
      let i = 0;
      while (i < n && stored[base + i] === (key[ws[i]!]! & ms[i]!)) i++;
      if (i === n) return this.slotRule[slot] ?? undefined;
    }
    const r = this.search(key);
    for (let i = 0; i < n; i++) stored[base + i] = key[ws[i]!]! & ms[i]!;
    this.slotRule[slot] = r ?? null;
    this.slotGeneration![slot] = this.generation;
    return r;
  }

  /** Recompute the union of the subtables' masks (after a change) and size the cache for it. */
  private prepareCache(): void {
    const union = new Int32Array(N_MATCH_WORDS);
    for (const st of this.subtables) for (let i = 0; i < st.words.length; i++) union[st.words[i]!]! |= st.masks[i]!;
    const words: number[] = [];
    const masks: number[] = [];
    for (let w = 0; w < N_MATCH_WORDS; w++) {
      if (union[w] !== 0) {
        words.push(w);
        masks.push(union[w]!);
      }
    }
    this.unionWords = Int32Array.from(words);
    this.unionMasks = Int32Array.from(masks);
    if (this.slotWords.length !== CACHE_SLOTS * words.length)
      this.slotWords = new Int32Array(CACHE_SLOTS * words.length);
    this.slotGeneration ??= new Int32Array(CACHE_SLOTS);
    if (this.slotRule.length === 0) for (let i = 0; i < CACHE_SLOTS; i++) this.slotRule.push(null);
    this.unionGeneration = this.generation;
  }

  /** The tuple-space search behind the cache. */
  private search(key: Int32Array): R | undefined {
    let best: R | undefined;
    const sts = this.subtables;
    for (let i = 0; i < sts.length; i++) {
      const st = sts[i]!;
      if (best !== undefined && st.maxPriority < best.priority) break;
      const list = st.buckets.get(st.hash(key, false));
      if (list === undefined) continue;
      for (let j = 0; j < list.length; j++) {
        const r = list[j]!;
        if (best !== undefined && !before(r, best)) break;
        if (st.same(r, key)) {
          best = r;
          break;
        }
      }
    }
    return best;
  }

  /** OR the mask of every key word some rule matches on into `union` (N_MATCH_WORDS long). */
  orMatchMasks(union: Int32Array): void {
    for (const st of this.subtables) for (let i = 0; i < st.words.length; i++) union[st.words[i]!]! |= st.masks[i]!;
  }

  /** Every rule, in no particular order. */
  *rules(): IterableIterator<R> {
    for (const st of this.subtables) for (const l of st.buckets.values()) yield* l;
  }

  private sortSubtables(): void {
    this.subtables.sort((a, b) => b.maxPriority - a.maxPriority);
  }
}
