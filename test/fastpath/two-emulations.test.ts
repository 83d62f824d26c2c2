/**
 * Two emulations in one thread keep their fast paths apart: each owns its configuration version and path watch
 * (src/path-observer/), so a configuration change in one voids only its own recipes, and both stay equivalent to a
 * slow-path twin. (With one process-wide generation, the change below voided the other emulation's recipes too.)
 */

import { describe, expect, it } from 'vitest';
import { cidr } from '../../codecs/bytes.js';
import { inject, type WarmPath } from '../../bench/walk-setup.js';
import { warmScenario } from '../../bench/walk.bench.js';
import type { FastPath } from '../../src/fastpath/fast-path.js';
import { diffState } from '../helpers/state-diff.js';

/** As in equivalence.test.ts: the fast path itself and the scratch fields only walked packets leave. */
const SKIP_KEYS: ReadonlySet<string> = new Set([
  'Runtime.fastPath',
  'Xlate.frames',
  'Xlate.passCache',
  'Conntrack.t',
  'MemorySink.buf',
]);

/** A warmed-up scenario with the fast path and its slow-path twin. */
interface Twins {
  fast: WarmPath;
  slow: WarmPath;
}

function twins(scenario: string): Twins {
  return { fast: warmScenario(scenario, true), slow: warmScenario(scenario, false) };
}

function fastPathOf(w: WarmPath): FastPath {
  return w.runtime.fastPath as FastPath;
}

/** `count` injections of the warm-up frame on both twins. */
function injectBoth(t: Twins, count: number): void {
  for (let i = 0; i < count; i++) {
    inject(t.fast);
    inject(t.slow);
  }
}

/** A real configuration change that no walk here depends on: a route on the underlay gateway (on both twins). */
function changeConfig(t: Twins): void {
  for (const w of [t.fast, t.slow]) {
    const gw = w.emulation.gateway;
    gw.routes.add({ dst: cidr('198.51.100.0/24'), dev: gw.interfaces[0]!, scope: 'link' });
  }
}

function expectEquivalent(t: Twins, what: string): void {
  expect(diffState(t.slow.emulation, t.fast.emulation, { skipKeys: SKIP_KEYS }), what).toEqual([]);
}

describe('two emulations in one thread', () => {
  it("replay independently: a configuration change in one does not void the other's recipes", () => {
    const a = twins('pod-to-pod-cross-node');
    const b = twins('pod-to-service-cross-node');
    const fa = fastPathOf(a.fast),
      fb = fastPathOf(b.fast);
    expect(fa).not.toBe(fb);
    expect(a.fast.runtime.config).not.toBe(b.fast.runtime.config);
    expect(a.fast.runtime.watch).not.toBe(b.fast.runtime.watch);

    // Warm both: from the third injection of a key on, every one replays.
    for (let round = 0; round < 20; round++) {
      injectBoth(a, 1);
      injectBoth(b, 1);
    }
    expect(fa.stats.hits).toBeGreaterThanOrEqual(17);
    expect(fb.stats.hits).toBeGreaterThanOrEqual(17);

    // A configuration change in A: A's recipes are void, B's are not.
    changeConfig(a);
    const missesA = fa.stats.misses,
      missesB = fb.stats.misses,
      hitsB = fb.stats.hits;
    for (let round = 0; round < 20; round++) {
      injectBoth(b, 1);
      injectBoth(a, 1);
    }
    expect(fb.stats.misses, "B walked no packet: its recipes survived A's change").toBe(missesB);
    expect(fb.stats.hits - hitsB).toBe(20);
    expect(fa.stats.misses - missesA, 'A walked (and recorded) once after its own change, then replayed').toBe(1);

    // And the other way round.
    changeConfig(b);
    const missesA2 = fa.stats.misses,
      missesB2 = fb.stats.misses;
    injectBoth(a, 10);
    injectBoth(b, 10);
    expect(fa.stats.misses).toBe(missesA2);
    expect(fb.stats.misses - missesB2).toBe(1);

    // Both stay what the slow path makes of the same work, object for object.
    expectEquivalent(a, 'pod-to-pod-cross-node');
    expectEquivalent(b, 'pod-to-service-cross-node');
  });
});
