/**
 * The conntrack state a cached walk depends on, seen from the cache: the entries it met (with the state they had)
 * and the tables it looked into. The cache replays a walk only while each entry is unchanged, and redoes the
 * lookups' side effects (statistics, timeout refreshes) through `replayFound`.
 */

/** A conntrack entry as a guard: the fields a walk decides on. */
export interface GuardedEntry {
  readonly status: number;
  readonly tcpState: number;
  readonly mark: number;
}

/** A conntrack table as a walk's cache sees it. */
export interface GuardedTable {
  /** No entry expires before this time (ns): a replay that ends earlier does no expiry work. */
  readonly noExpiryBefore: number;
  /** Redo what a lookup that found `e` did at `clock.now`: statistics and the timeout refresh of class `cls`. */
  replayFound(e: GuardedEntry, cls: number, ignored: boolean, clock: { readonly now: number }): void;
}
