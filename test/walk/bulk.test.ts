/**
 * Bulk runs account for every conversation. The client's ephemeral range (32768-60999) holds 28,232 ports and a
 * closed connection keeps its port 60 s in TIME_WAIT: the emulated kernel's connect() fails with EADDRNOTAVAIL
 * when none is free (never silently reusing one), and a bulk run, like a real load generator, waits on the virtual
 * clock for the oldest TIME_WAIT to end — so 30,000 conversations all complete.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cidr, ipv4 } from '../../codecs/bytes.js';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { NetInterface } from '../../src/ports/net-interface.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { EPHEMERAL_FIRST, EPHEMERAL_LAST, TCP_GIVE_UP_NS, TCP_TIMEWAIT_NS } from '../../src/node/sockets.js';
import { Stack } from '../../src/node/stack.js';
import { findScenario } from '../../src/scenarios/catalog.js';
import { runScenario } from '../../src/scenarios/run-scenario.js';

const RANGE = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;

/** A host whose SYNs go nowhere (its only route's next hop never answers ARP): each connect() holds a port. */
function lonelyHost(): Stack {
  const rt = new Runtime(3);
  const s = new Stack(rt, 'client');
  const eth = s.addInterface(new NetInterface(rt, s, 'eth0', 0x02_00_00_00_00_01, 1500));
  eth.addAddress({ ip: ipv4('10.0.0.2'), prefix: 24 });
  s.routes.add({ dst: cidr('10.0.0.0/24'), dev: eth, proto: 'kernel', scope: 'link', src: ipv4('10.0.0.2') });
  return s;
}

describe('ephemeral ports', () => {
  it('connect() fails with EADDRNOTAVAIL once all 28,232 ports are held, sending nothing; they come back when released', () => {
    const s = lonelyHost();
    const rt = s.runtime;
    const dst = ipv4('10.0.0.9');
    const conns = [];
    for (let i = 0; i < RANGE; i++) conns.push(s.sockets.connectTcp(dst, 80, new Uint8Array(1)));
    expect(new Set(conns.map((c) => c.localPort)).size).toBe(RANGE);
    expect(conns.every((c) => c.localPort >= EPHEMERAL_FIRST && c.localPort <= EPHEMERAL_LAST && !c.error)).toBe(true);
    const allocated = rt.pool.allocated;
    const failed = s.sockets.connectTcp(dst, 80, new Uint8Array(1));
    expect(failed.error).toBe('EADDRNOTAVAIL');
    expect(failed.state).toBe('CLOSED');
    expect(rt.pool.allocated).toBe(allocated); // no packet was made
    expect(s.sockets.sendUdp(dst, 53, new Uint8Array(1)).error).toBe('EADDRNOTAVAIL');
    // The client gives up on its unanswered connections: they hold their ports until the kernel would have.
    const t0 = rt.clock.now;
    for (const c of conns) s.sockets.abandon(c);
    expect(s.sockets.ephemeralPortFreeAt()).toBe(t0 + TCP_GIVE_UP_NS);
    rt.clock.advance(TCP_GIVE_UP_NS);
    expect(s.sockets.ephemeralPortFree()).toBe(true);
    expect(s.sockets.connectTcp(dst, 80, new Uint8Array(1)).error).toBeUndefined();
    s.settleNeighbours();
  });
});

describe('run --count', () => {
  it('30,000 conversations all complete: the client waits for TIME_WAIT once the range is used up, files stay bounded', () => {
    const out = mkdtempSync(join(tmpdir(), 'packetwalk-bulk-'));
    try {
      const r = runScenario(findScenario('pod-to-pod-same-node')!, {
        baseDocuments: builtinClusterDocuments(),
        clusterFile: '<builtin>',
        outDir: out,
        count: 30_000,
      });
      expect(r.tally.total).toBe(30_000);
      expect(r.tally.outcomes).toEqual({ completed: 30_000, refused: 0, 'no-port': 0, unanswered: 0 });
      expect(r.passed).toBe(true);
      // The 28,233rd conversation needed a port while all were in TIME_WAIT: the clock moved to the oldest one's end.
      expect(r.tally.portWaits).toBeGreaterThanOrEqual(1);
      const clockS = r.emulation.runtime.clock.now / 1e9;
      expect(clockS).toBeGreaterThan(TCP_TIMEWAIT_NS / 1e9);
      expect(clockS).toBeLessThan(TCP_TIMEWAIT_NS / 1e9 + 30);
      expect([...r.emulation.runtime.drops]).toEqual([]);
      // Memory: only the first conversation is traced and indexed.
      expect(r.flows).toHaveLength(1);
      expect(r.packets.length).toBeLessThan(20);
      expect(r.recorder.frames.length).toBeLessThan(100);
      // The client's socket table holds the connections of the last 60 s, not all 30,000.
      const client = r.emulation.podStack(r.cluster.pods.find((p) => p.name === 'sqlapi-1-8jgx8')!);
      expect(client.sockets.connections().length).toBeLessThanOrEqual(RANGE);
      const trace = JSON.parse(readFileSync(join(r.dir!, 'trace.json'), 'utf8')) as {
        count: number;
        conversations: Record<string, number>;
      };
      expect(trace.count).toBe(30_000);
      expect(trace.conversations).toMatchObject({ total: 30_000, completed: 30_000 });
      expect(readFileSync(join(r.dir!, 'trace.txt'), 'utf8')).toMatch(
        /conversations: 30000 \(30000 completed.*the client waited \d+ times for a port in TIME_WAIT/,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
