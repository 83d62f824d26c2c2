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
    const ws = this.words, ms = this.masks;
    for (let i = 0; i < ws.length; i++) {
      const v = masked ? key[ws[i]!]! : key[ws[i]!]! & ms[i]!;
      h = Math.imul(h ^ v, 0x01000193);
      h ^= h >>> 15;
    }
    return h;
  }

  /** True when `key` matches `r` on this subtable's words. */
  same(r: R, key: Int32Array): boolean {
    const ws = this.words, ms = this.masks, vs = r.match.values;
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

export class Classifier<R extends ClassifierRule> {
  /** Sorted by maxPriority, highest first. */
  private subtables: Subtable<R>[] = [];
  private readonly byShape = new Map<string, Subtable<R>>();
  private n = 0;

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

  /** The highest-priority rule matching `key`, or undefined. Allocates nothing. */
  lookup(key: Int32Array): R | undefined {
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

  /** Every rule, in no particular order. */
  *rules(): IterableIterator<R> {
    for (const st of this.subtables) for (const l of st.buckets.values()) yield* l;
  }

  private sortSubtables(): void {
    this.subtables.sort((a, b) => b.maxPriority - a.maxPriority);
  }
}
