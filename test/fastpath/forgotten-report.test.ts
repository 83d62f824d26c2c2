/**
 * Correctness of the fast path rests on every hop reporting to the path observer what a replay must redo or what
 * forbids one, and on every configuration change bumping the emulation's ConfigVersion. These tests make a
 * forgotten report fail, naming what was forgotten:
 *
 *   - a hop that changes state without reporting it: the whole-object-graph comparison with a slow-path twin names
 *     the field (equivalence.test.ts does this for every scenario);
 *   - state a walk decides on, changed without a ConfigVersion bump or a guard: the fast path's audit mode
 *     (createAuditingFastPath) walks every hit and compares the walk with its recipe, naming the first step that
 *     differs — here for the state below, and for every scenario's flows.
 */

import { describe, expect, it } from 'vitest';
import { inject, type WarmPath } from '../../bench/walk-setup.js';
import { warmScenario } from '../../bench/walk.bench.js';
import { createAuditingFastPath, type FastPath } from '../../src/fastpath/fast-path.js';
import type { Stack } from '../../src/node/stack.js';
import type { NetInterface } from '../../src/ports/net-interface.js';
import { SCENARIOS } from '../../src/scenarios/catalog.js';
import { diffState } from '../helpers/state-diff.js';

const SKIP_KEYS: ReadonlySet<string> = new Set([
  'Runtime.fastPath',
  'Xlate.frames',
  'Xlate.passCache',
  'Conntrack.t',
  'MemorySink.buf',
]);

/** The server's eth0 of a warmed-up pod-to-pod path (where the injected frame ends). */
function serverEth0(w: WarmPath): NetInterface {
  const dst = w.frame[30]! * 0x1000000 + w.frame[31]! * 0x10000 + w.frame[32]! * 0x100 + w.frame[33]!;
  for (const s of w.emulation.stacks())
    for (const i of s.interfaces) if (i.name === 'eth0' && i.hasAddress(dst) && s !== w.source.stack) return i;
  throw new Error('no server eth0');
}

/** The client node's kernel, its NIC, and the neighbour entry its VXLAN packets leave with (the other node's). */
function underlayNeighbour(w: WarmPath): {
  kernel: Stack;
  nic: NetInterface;
  ip: number;
  mac: number;
  index: Map<number, number>;
} {
  const node = [...w.emulation.nodes.values()].find((n) => n.built && [...n.pods.values()].includes(w.source))!;
  // Test-only access to the neighbour index (what lookupNeighbour reads).
  const index = (
    node.kernel as unknown as { neighbourIndex: Map<NetInterface, Map<number, number>> }
  ).neighbourIndex.get(node.nic)!;
  const [ip, mac] = [...index].find(([ip]) => ip >>> 0 !== w.emulation.cluster.underlay.gateway)!;
  return { kernel: node.kernel, nic: node.nic, ip: ip >>> 0, mac, index };
}

describe('a forgotten report to the path observer', () => {
  it('a hop that changes state without reporting: the object-graph check names the field', () => {
    const fast = warmScenario('pod-to-pod-cross-node', true),
      slow = warmScenario('pod-to-pod-cross-node', false);
    // Test-only hop: the server's eth0 counts frames in a field of its own, and tells no observer.
    for (const w of [fast, slow]) {
      const eth0 = serverEth0(w) as NetInterface & { framesSeenByTest?: number };
      const receive = eth0.receiveFrame.bind(eth0);
      eth0.framesSeenByTest = 0;
      eth0.receiveFrame = (pkt) => {
        eth0.framesSeenByTest!++;
        receive(pkt);
      };
    }
    for (let i = 0; i < 20; i++) {
      inject(fast);
      inject(slow);
    }
    expect((fast.runtime.fastPath as FastPath).stats.hits).toBeGreaterThan(10);
    const diffs = diffState(slow.emulation, fast.emulation, { skipKeys: SKIP_KEYS });
    expect(
      diffs.some((d) => /\.framesSeenByTest: 20 != \d+$/.test(d)),
      diffs.join('\n'),
    ).toBe(true);
  });

  it('state a walk decides on, changed without a ConfigVersion bump: the audit names the step', () => {
    const w = warmScenario('pod-to-pod-cross-node', createAuditingFastPath);
    const fp = w.runtime.fastPath as FastPath;
    for (let i = 0; i < 5; i++) inject(w);
    expect(fp.stats.hits, 'the injections hit (and are audited)').toBeGreaterThan(2);
    expect(fp.auditFailures).toEqual([]);

    // Reported: setNeighbour bumps the version, the recipes are void, and the next walks are recorded afresh.
    const n = underlayNeighbour(w);
    n.kernel.setNeighbour(n.nic, n.ip, n.mac + 1);
    n.kernel.setNeighbour(n.nic, n.ip, n.mac);
    for (let i = 0; i < 5; i++) inject(w);
    expect(fp.auditFailures).toEqual([]);

    // Forgotten: the entry changes behind the table's back (no setNeighbour, so no ConfigVersion bump).
    n.index.set(n.ip | 0, 0x02_00_5e_00_71_01);
    inject(w);
    expect(fp.auditFailures.length, 'the audit caught the stale recipe').toBe(1);
    expect(fp.auditFailures[0]).toMatch(
      /vetoed \(dropped\) after byte program step \d+: recipe write bytes .*, walk write bytes \(.*02005e007101/,
    );
  });

  it('every scenario whose first flow is TCP, audited: no replayed walk differs from its recipe', () => {
    let hits = 0,
      audited = 0;
    const failures: string[] = [];
    for (const s of SCENARIOS) {
      let w: WarmPath;
      try {
        w = warmScenario(s.name, createAuditingFastPath);
      } catch {
        continue; // blocked or non-TCP first flow: no established frame to repeat (equivalence.test.ts covers them)
      }
      audited++;
      const fp = w.runtime.fastPath as FastPath;
      for (const advanceNs of [0, 1_000_000, 121_000_000_000]) {
        w.runtime.clock.advance(advanceNs);
        for (let i = 0; i < 10; i++) inject(w);
      }
      hits += fp.stats.hits;
      for (const f of fp.auditFailures) failures.push(`${s.name}: ${f}`);
    }
    expect(audited, 'scenarios audited').toBeGreaterThan(5);
    expect(hits, 'audited hits').toBeGreaterThan(audited * 10);
    expect(failures).toEqual([]);
  });
});
