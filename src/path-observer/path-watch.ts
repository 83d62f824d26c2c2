/**
 * Where the hops of one emulation find the observer of the walk in progress (path-observer.ts). Null when no walk
 * is observed, which is the whole cost on the hot path: one property read per hop, no allocation.
 *
 * It belongs to the emulation that runs the walks, as OVS's `xlate_in->xcache` belongs to the caller of one
 * translation — never to the process: two emulations in one thread observe their walks independently. Walks are
 * synchronous, so one slot per emulation suffices. A part built on its own (a bare Bridge in a test) has its own
 * slot, which stays empty.
 */

import type { PathObserver } from './path-observer.js';

export class PathWatch {
  /** The observer of the walk in progress; set and cleared by the observer's owner (the fast path). */
  observer: PathObserver | null = null;
}
