/**
 * The whole-path fast path must be invisible: for every scenario, an emulation with it and one without run the
 * same conversations (3 rounds, untraced, as `packetwalk run --count 3`), then the client's established-flow
 * frame is injected 200 more times at the client's interface (as the walk benchmarks do), and everything a
 * user can observe must be equal: the pcapng byte for byte, br0 flows and counters, iptables counters,
 * conntrack, drops, the clock, interface counters — and finally the whole object graph (diffState), apart from
 * the few scratch and cache fields listed in SKIP_KEYS.
 */

import { describe, expect, it } from 'vitest';
import { ipv4ToString, readU16 } from '../../codecs/bytes.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV4 } from '../../codecs/ethernet.js';
import { IPPROTO_TCP } from '../../codecs/ipv4.js';
import { BLOCK_EPB } from '../../codecs/pcapng.js';
import { TCP_ACK } from '../../codecs/tcp.js';
import { attachCapture } from '../../src/capture/attach.js';
import { CaptureRecorder } from '../../src/capture/recorder.js';
import { createFastPath } from '../../src/fastpath/fast-path.js';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import type { Cluster } from '../../src/cluster/types.js';
import { formatConntrackTable } from '../../src/netfilter/conntrack-format.js';
import { Netfilter } from '../../src/netfilter/evaluate.js';
import { parseIptablesSave } from '../../src/netfilter/iptables-restore.js';
import { iptablesSave } from '../../src/netfilter/iptables-save.js';
import { Emulation, type EmulationOptions } from '../../src/node/emulation.js';
import type { NetInterface } from '../../src/ports/net-interface.js';
import { findScenario, SCENARIOS } from '../../src/scenarios/catalog.js';
import type { Scenario } from '../../src/scenarios/scenario.js';
import { runFlow, sourceStack, type FlowResult, type FlowSpec } from '../../src/walk/flow.js';
import { scenarioCluster, scenarioFlows } from '../../src/scenarios/run-scenario.js';
import { diffState } from '../helpers/state-diff.js';

/**
 * Fields that may legitimately differ with the fast path on; every other field of the emulation must be equal.
 * `name` skips a property everywhere, `Class.name` only in that class (test/helpers/state-diff.ts). Each entry
 * was found necessary by removing it and watching the test fail.
 */
const SKIP_KEYS: ReadonlySet<string> = new Set([
  // The fast path itself (its recipes and statistics): null with it off.
  'Runtime.fastPath',
  // br0's per-process() scratch (flow key, depth and resubmit counts, recirculation slots, the pass being
  // recorded or replayed): it holds what the last *walked* packet left, and replayed packets do not walk br0.
  'Xlate.frames',
  // br0's own per-pass cache: whole-path replays neither consult nor fill it, so its slots and the links between
  // recirculated passes differ.
  'Xlate.passCache',
  // Conntrack's scratch tuple for the packet being tracked (no allocation per packet): likewise the last walked one.
  'Conntrack.t',
  // The in-memory pcapng's buffer past the write position is uninitialised (Buffer.allocUnsafe), even between two
  // slow-path runs; the written bytes are compared exactly with memoryPcapng().
  'MemorySink.buf',
]);

const BASE = builtinClusterDocuments();
const ROUNDS = 3;
/** Injection batches of the replay phase, each after advancing the clock by `advanceNs`. */
const REPLAY_BATCHES: readonly { count: number; advanceNs: number }[] = [
  { count: 100, advanceNs: 0 },
  { count: 50, advanceNs: 1_000_000 },
  // Past the 120 s TIME_WAIT (and every other established timeout): entries expire, the frame is tracked afresh.
  { count: 50, advanceNs: 121_000_000_000 },
];

/** One emulation of a scenario's cluster with an in-memory capture of every port. */
interface Side {
  scenario: Scenario;
  cluster: Cluster;
  emu: Emulation;
  recorder: CaptureRecorder;
}

function bringUp(s: Scenario, fastPath: boolean): Side {
  const cluster = scenarioCluster(s, BASE, '<builtin>');
  // The fast path is injected by whoever builds the emulation (the data path does not know it).
  const opts: EmulationOptions = { seed: 1, fastPath: fastPath ? createFastPath : undefined };
  const emu = new Emulation(cluster, opts);
  const recorder = new CaptureRecorder(emu.runtime.clock, { index: true, keepBytes: true });
  attachCapture(emu, recorder);
  emu.runtime.tracing = false; // untraced: the fast path may act
  return { scenario: s, cluster, emu, recorder };
}

/** Run the scenario's flows `ROUNDS` times on both sides, as `packetwalk run --count N` does. */
function runRounds(off: Side, on: Side): { off: FlowResult[]; on: FlowResult[] } {
  const specsOff = scenarioFlows(off.scenario, off.cluster),
    specsOn = scenarioFlows(on.scenario, on.cluster);
  const results = { off: [] as FlowResult[], on: [] as FlowResult[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < specsOff.length; i++) {
      results.off.push(runFlow(off.emu, specsOff[i]!));
      off.emu.runtime.clock.advance(1_000_000);
      results.on.push(runFlow(on.emu, specsOn[i]!));
      on.emu.runtime.clock.advance(1_000_000);
    }
  }
  return results;
}

function tcpSourcePort(f: Uint8Array): number | undefined {
  if (
    f.length < ETHERNET_HEADER_LEN + 40 ||
    readU16(f, 12) !== ETHERTYPE_IPV4 ||
    f[ETHERNET_HEADER_LEN + 9] !== IPPROTO_TCP
  )
    return undefined;
  return readU16(f, ETHERNET_HEADER_LEN + ((f[ETHERNET_HEADER_LEN]! & 0x0f) << 2));
}

function isPureAck(f: Uint8Array): boolean {
  const ip = ETHERNET_HEADER_LEN,
    l4 = ip + ((f[ip]! & 0x0f) << 2);
  const payload = readU16(f, ip + 2) - (l4 - ip) - ((f[l4 + 12]! >>> 4) << 2);
  return f[l4 + 13] === TCP_ACK && payload === 0;
}

/**
 * The frame to replay and where: the client's last pure ACK of its last conversation (else its last TCP frame
 * of it, for blocked flows), as its interface transmitted it. Undefined for non-TCP flows.
 */
function replayFrame(side: Side, spec: FlowSpec, clientPort: number): { tap: number; frame: Uint8Array } | undefined {
  const taps = new Set(sourceStack(side.emu, spec.from).interfaces.map((i) => i.tap));
  let last: { tap: number; frame: Uint8Array } | undefined;
  let lastAck: typeof last;
  for (const f of side.recorder.frames) {
    if (f.direction !== 'outbound' || !taps.has(f.point) || !f.bytes || tcpSourcePort(f.bytes) !== clientPort) continue;
    last = { tap: f.point, frame: f.bytes };
    if (isPureAck(f.bytes)) lastAck = last;
  }
  return lastAck ?? last;
}

/** The interface of `side` that is capture point `tap`. */
function interfaceAt(side: Side, tap: number): NetInterface {
  for (const s of side.emu.stacks()) for (const i of s.interfaces) if (i.tap === tap) return i;
  throw new Error(`no interface is capture point ${tap}`);
}

/** Transmit `count` copies of `frame` on `iface` (each walks, or replays, to its end before the next). */
function inject(side: Side, iface: NetInterface, frame: Uint8Array, count: number): void {
  const rt = side.emu.runtime;
  for (let i = 0; i < count; i++) iface.transmit(rt.pool.acquire().load(frame));
  side.emu.settle();
}

/** Everything a user can read off an emulation, as text by name. */
function observe(side: Side): Map<string, string> {
  const { emu, recorder } = side;
  const rt = emu.runtime;
  const out = new Map<string, string>();
  for (const [name, node] of emu.nodes) {
    out.set(`${name}: ovs-ofctl dump-flows br0`, node.bridge.dumpFlows());
    out.set(`${name}: ovs-ofctl dump-groups br0`, node.bridge.dumpGroups());
    out.set(`${name}: br0 drops`, [...node.bridge.drops].map(([k, v]) => `${k}: ${v}`).join('\n'));
  }
  for (const s of emu.stacks()) {
    out.set(
      `${s.name}: ip -s link`,
      s.interfaces.map((i) => `${i.name} tx ${i.txPackets} rx ${i.rxPackets}`).join('\n'),
    );
    if (s.netfilter instanceof Netfilter) {
      out.set(`${s.name}: iptables-save -c`, iptablesSave(s.netfilter.ruleset, { counters: true }));
      out.set(`${s.name}: conntrack -L`, formatConntrackTable(s.netfilter.conntrack, rt.clock.now));
      out.set(`${s.name}: conntrack stats`, JSON.stringify(s.netfilter.conntrack.stats));
    }
  }
  out.set('runtime.drops', [...rt.drops].map(([k, v]) => `${k}: ${v}`).join('\n'));
  out.set('clock.now', String(rt.clock.now));
  out.set('buffer pool', `allocated ${rt.pool.allocated}, available ${rt.pool.available}`);
  out.set('capture counts', recorder.counts.join(','));
  return out;
}

/** `name: line N: <a line> != <b line>` for each observation that differs. */
function observationDiffs(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(name),
      y = b.get(name);
    if (x === y) continue;
    if (x === undefined || y === undefined) {
      out.push(`${name}: only in ${x === undefined ? 'fast-path' : 'slow-path'} emulation`);
      continue;
    }
    const lx = x.split('\n'),
      ly = y.split('\n');
    let i = 0;
    while (lx[i] === ly[i]) i++;
    out.push(`${name}: line ${i + 1}: ${JSON.stringify(lx[i] ?? '(end)')} != ${JSON.stringify(ly[i] ?? '(end)')}`);
  }
  return out;
}

/**
 * Where the two sides' pcapng files first differ: the byte, then on each side the block holding it and, for a
 * packet record, its frame number as Wireshark shows it and the capture point it was recorded at.
 */
function pcapngDifference(off: Side, on: Side): string | undefined {
  const a = off.recorder.memoryPcapng(),
    b = on.recorder.memoryPcapng();
  if (a.equals(b)) return undefined;
  let at = 0;
  while (at < a.length && at < b.length && a[at] === b[at]) at++;
  return `slow path ${a.length} bytes, fast path ${b.length} bytes; first difference at byte ${at}: slow path ${blockAt(a, off, at)}, fast path ${blockAt(b, on, at)}`;
}

/** What the block holding byte `at` of a side's pcapng is. */
function blockAt(f: Buffer, side: Side, at: number): string {
  if (at >= f.length) return 'end of file';
  let record = -1;
  for (let o = 0, block = 0; o + 8 <= f.length; block++) {
    const type = f.readUInt32LE(o),
      len = f.readUInt32LE(o + 4);
    if (type === BLOCK_EPB) record++;
    if (at < o + len || len < 12) {
      if (type !== BLOCK_EPB) return `block ${block} (type 0x${type.toString(16)})`;
      const frame = side.recorder.frames[record];
      return `frame ${record + 1}${frame ? ` at ${side.recorder.points[frame.point]!.name} (${frame.direction})` : ''}`;
    }
    o += len;
  }
  return 'a truncated block';
}

/** Every observable, then the whole object graph, equal between the slow-path and fast-path sides. */
function expectEquivalent(off: Side, on: Side, when: string): void {
  const pcapng = pcapngDifference(off, on);
  if (pcapng) expect.fail(`walk.pcapng ${when}: ${pcapng}`);
  expect(observationDiffs(observe(off), observe(on)), `observations ${when}`).toEqual([]);
  expect(diffState(off.emu, on.emu, { skipKeys: SKIP_KEYS }), `object graph ${when}`).toEqual([]);
}

function pair(s: Scenario): { off: Side; on: Side } {
  return { off: bringUp(s, false), on: bringUp(s, true) };
}

/** Hits the fast path made in each scenario's replay phase (filled by the scenario tests). */
const replayHits = new Map<string, number>();

/** Run one scenario on both sides and check them; returns the fast path's hits during the replay phase. */
function checkScenario(s: Scenario): number {
  const { off, on } = pair(s);
  expect(off.emu.runtime.fastPath, 'fastPath: false leaves runtime.fastPath null').toBeNull();
  expect(on.emu.runtime.fastPath, 'the fast path is on by default').toBeTruthy();

  const flows = runRounds(off, on);
  expect(flows.on.map((f) => [f.ok, f.detail, f.clientPort])).toEqual(
    flows.off.map((f) => [f.ok, f.detail, f.clientPort]),
  );
  expectEquivalent(off, on, `after ${ROUNDS} rounds of flows`);

  const first = scenarioFlows(s, off.cluster)[0]!;
  const lastRun = flows.off[flows.off.length - scenarioFlows(s, off.cluster).length]!;
  const replay = first.proto === 'tcp' ? replayFrame(off, first, lastRun.clientPort) : undefined;
  if (!replay) return 0;
  const ifOff = interfaceAt(off, replay.tap),
    ifOn = interfaceAt(on, replay.tap);
  const hitsBefore = on.emu.runtime.fastPath!.stats.hits;
  for (const batch of REPLAY_BATCHES) {
    off.emu.runtime.clock.advance(batch.advanceNs);
    on.emu.runtime.clock.advance(batch.advanceNs);
    inject(off, ifOff, replay.frame, batch.count);
    inject(on, ifOn, replay.frame, batch.count);
  }
  expectEquivalent(
    off,
    on,
    `after ${REPLAY_BATCHES.reduce((n, b) => n + b.count, 0)} injections at ${ifOff.owner.name} ${ifOff.name}`,
  );
  return on.emu.runtime.fastPath!.stats.hits - hitsBefore;
}

describe('fast path equivalence: every scenario, slow path vs fast path', () => {
  for (const s of SCENARIOS) {
    it(s.name, () => {
      replayHits.set(s.name, checkScenario(s));
    });
  }

  it('really replays established flows (hits in the replay phase)', () => {
    for (const name of ['pod-to-pod-cross-node', 'pod-to-service-cross-node', 'egress-node-ip']) {
      const hits = replayHits.get(name) ?? checkScenario(findScenario(name)!);
      expect(hits, `${name}: fast-path hits while replaying the established frame`).toBeGreaterThan(0);
    }
  });
});

/** A configuration change between injection batches, applied identically to both sides. */
interface ConfigStep {
  what: string;
  /** Whether the slow path drops the injected frames after this step (proves the change took effect). */
  drops: boolean;
  apply(side: Side): void;
}

function totalDrops(side: Side): number {
  let n = 0;
  for (const v of side.emu.runtime.drops.values()) n += v;
  return n;
}

/** Both sides after the scenario's first flow, with the client's established frame and where to inject it. */
function warmPair(scenarioName: string): {
  off: Side;
  on: Side;
  frame: Uint8Array;
  ifOff: NetInterface;
  ifOn: NetInterface;
} {
  const s = findScenario(scenarioName)!;
  const { off, on } = pair(s);
  const spec = scenarioFlows(s, off.cluster)[0]!;
  const rOff = runFlow(off.emu, spec),
    rOn = runFlow(on.emu, scenarioFlows(s, on.cluster)[0]!);
  expect(rOff.ok && rOn.ok).toBe(true);
  const replay = replayFrame(off, spec, rOff.clientPort)!;
  return { off, on, frame: replay.frame, ifOff: interfaceAt(off, replay.tap), ifOn: interfaceAt(on, replay.tap) };
}

/** Warm both sides with one flow, then alternate injection batches and configuration changes. */
function checkConfigChanges(scenarioName: string, steps: (side: Side) => ConfigStep[]): { hitsAfterLastStep: number } {
  const { off, on, frame, ifOff, ifOn } = warmPair(scenarioName);
  const replay = { frame };
  const batch = (): void => {
    inject(off, ifOff, replay.frame, 30);
    inject(on, ifOn, replay.frame, 30);
  };
  batch();
  expectEquivalent(off, on, 'before any change');
  const stepsOff = steps(off),
    stepsOn = steps(on);
  let hitsBefore = 0;
  for (let i = 0; i < stepsOff.length; i++) {
    stepsOff[i]!.apply(off);
    stepsOn[i]!.apply(on);
    hitsBefore = on.emu.runtime.fastPath!.stats.hits;
    const dropsBefore = totalDrops(off);
    batch();
    expect(totalDrops(off) > dropsBefore, `slow path drops after: ${stepsOff[i]!.what}`).toBe(stepsOff[i]!.drops);
    expectEquivalent(off, on, `after: ${stepsOff[i]!.what}`);
  }
  return { hitsAfterLastStep: on.emu.runtime.fastPath!.stats.hits - hitsBefore };
}

function podIp(cluster: Cluster, namespace: string, name: string): string {
  return ipv4ToString(cluster.pods.find((x) => x.namespace === namespace && x.name === name)!.ip);
}

function podNode(side: Side, namespace: string, name: string): string {
  return side.cluster.pods.find((x) => x.namespace === namespace && x.name === name)!.node;
}

describe('fast path equivalence: configuration changes between batches invalidate cached paths', () => {
  it('br0 flows added and deleted on the client and server nodes (tables 90 and 80)', () => {
    const r = checkConfigChanges('pod-to-pod-cross-node', (side) => {
      const server = podIp(side.cluster, 'project1', 'server-1-ppl25'),
        client = podIp(side.cluster, 'project1', 'sqlapi-1-8jgx8');
      const br1 = side.emu.node(podNode(side, 'project1', 'sqlapi-1-8jgx8')).bridge;
      const br3 = side.emu.node(podNode(side, 'project1', 'server-1-ppl25')).bridge;
      return [
        {
          what: 'drop to the server in table 90 of the client node',
          drops: true,
          apply: () => br1.addFlow(`table=90, priority=300, ip, nw_dst=${server} actions=drop`),
        },
        { what: 'that drop deleted', drops: false, apply: () => void br1.delFlows(`table=90, ip, nw_dst=${server}`) },
        {
          what: 'drop from the client in table 80 of the server node',
          drops: true,
          apply: () => br3.addFlow(`table=80, priority=300, ip, nw_src=${client} actions=drop`),
        },
        { what: 'that drop deleted', drops: false, apply: () => void br3.delFlows(`table=80, ip, nw_src=${client}`) },
      ];
    });
    expect(r.hitsAfterLastStep, 'hits once the path is open again').toBeGreaterThan(0);
  });

  it('iptables reloaded with a FORWARD drop and without it (iptables-restore -c)', () => {
    const r = checkConfigChanges('pod-to-service-cross-node', (side) => {
      const server = podIp(side.cluster, 'project1', 'server-1-ppl25');
      const nf = side.emu.node(podNode(side, 'project1', 'sqlapi-1-8jgx8')).netfilter;
      const dropLine = `[0:0] -A FORWARD -d ${server}/32 -p tcp -j DROP`;
      return [
        {
          what: `${dropLine} inserted first in filter FORWARD`,
          drops: true,
          apply: () => {
            const lines = iptablesSave(nf.ruleset, { counters: true }).split('\n');
            const filter = lines.indexOf('*filter');
            const at = lines.findIndex(
              (l, i) => i > filter && / -A FORWARD /.test(` ${l.replace(/^\[\d+:\d+\] /, '')}`),
            );
            lines.splice(at, 0, dropLine);
            nf.load(parseIptablesSave(lines.join('\n')));
          },
        },
        {
          what: 'the ruleset reloaded without it',
          drops: false,
          apply: () => {
            const text = iptablesSave(nf.ruleset, { counters: true })
              .split('\n')
              .filter((l) => !l.endsWith(`-A FORWARD -d ${server}/32 -p tcp -j DROP`))
              .join('\n');
            nf.load(parseIptablesSave(text));
          },
        },
      ];
    });
    expect(r.hitsAfterLastStep, 'hits once the path is open again').toBeGreaterThan(0);
  });
});

describe('fast path equivalence: kernel state the recipes depend on', () => {
  it('the client node NIC MTU lowered below the VXLAN packet and raised again', () => {
    const r = checkConfigChanges('pod-to-pod-cross-node', (side) => {
      const nic = side.emu.node(podNode(side, 'project1', 'sqlapi-1-8jgx8')).nic;
      const mtu = nic.mtu;
      return [
        {
          what: 'node eth0 MTU 80 (the outer IPv4 packet of the 54-byte ACK is 90 bytes: EMSGSIZE)',
          drops: true,
          apply: () => void (nic.mtu = 80),
        },
        { what: `node eth0 MTU back to ${mtu}`, drops: false, apply: () => void (nic.mtu = mtu) },
      ];
    });
    expect(r.hitsAfterLastStep, 'hits once the path is open again').toBeGreaterThan(0);
  });

  it('net.ipv4.ip_forward switched off and on again on the client node (pod-to-service crosses its kernel)', () => {
    const r = checkConfigChanges('pod-to-service-cross-node', (side) => {
      const kernel = side.emu.node(podNode(side, 'project1', 'sqlapi-1-8jgx8')).kernel;
      return [
        { what: 'ip_forward=0', drops: true, apply: () => void (kernel.forwarding = false) },
        { what: 'ip_forward=1', drops: false, apply: () => void (kernel.forwarding = true) },
      ];
    });
    expect(r.hitsAfterLastStep, 'hits once the path is open again').toBeGreaterThan(0);
  });

  it('conntrack flushed on both nodes of the path (the next ACK is picked up mid-stream, not replayed)', () => {
    const r = checkConfigChanges('pod-to-service-cross-node', (side) => [
      {
        what: 'conntrack -F on every node',
        drops: false,
        apply: () => {
          for (const n of side.emu.nodes.values()) n.netfilter.conntrack.flush();
        },
      },
    ]);
    expect(r.hitsAfterLastStep, 'the picked-up connection is replayed again').toBeGreaterThan(0);
  });
});

describe('fast path equivalence: frames the key cannot vouch for walk', () => {
  /** Warm both sides, replay the ACK until it hits, then inject a corrupted copy and check both sides agree. */
  function corrupted(what: string, corrupt: (f: Uint8Array) => void): void {
    const { off, on, frame, ifOff, ifOn } = warmPair('pod-to-pod-cross-node');
    const replay = { frame };
    inject(off, ifOff, replay.frame, 5);
    inject(on, ifOn, replay.frame, 5);
    const fp = on.emu.runtime.fastPath!;
    expect(fp.stats.hits, 'the good frame replays').toBeGreaterThan(0);
    const bad = Uint8Array.from(replay.frame);
    corrupt(bad);
    const hits = fp.stats.hits;
    inject(off, ifOff, bad, 5);
    inject(on, ifOn, bad, 5);
    expect(fp.stats.hits, `${what}: never replayed`).toBe(hits);
    expectEquivalent(off, on, `after 5 frames with ${what}`);
    inject(off, ifOff, replay.frame, 5);
    inject(on, ifOn, replay.frame, 5);
    expect(fp.stats.hits, 'the good frame replays again').toBeGreaterThan(hits);
    expectEquivalent(off, on, `after the good frame again`);
  }

  it('a bad TCP checksum (conntrack marks it invalid on the way)', () => {
    corrupted('a bad TCP checksum', (f) => {
      const l4 = ETHERNET_HEADER_LEN + 20;
      f[l4 + 16] = f[l4 + 16]! ^ 0x5a;
    });
  });

  it('a bad IPv4 header checksum (the receiving stacks drop it)', () => {
    corrupted('a bad IPv4 header checksum', (f) => {
      f[ETHERNET_HEADER_LEN + 10] = f[ETHERNET_HEADER_LEN + 10]! ^ 0x01;
    });
  });
});

describe('fast path equivalence: UDP through a service', () => {
  it('a pod re-sends its DNS query to 172.30.0.10:53 (DNAT, replies, the 2 s stream boundary)', () => {
    const s = findScenario('pod-to-service-cross-node')!;
    const { off, on } = pair(s);
    const spec: FlowSpec = {
      from: { kind: 'pod', namespace: 'project1', name: 'sqlapi-1-8jgx8' },
      to: { ip: 0xac1e000a, port: 53 },
      proto: 'udp',
    };
    const rOff = runFlow(off.emu, spec),
      rOn = runFlow(on.emu, spec);
    expect(rOff.ok && rOn.ok, `${rOff.detail} / ${rOn.detail}`).toBe(true);
    const taps = new Set(sourceStack(off.emu, spec.from).interfaces.map((i) => i.tap));
    const query = off.recorder.frames.find(
      (f) => f.direction === 'outbound' && taps.has(f.point) && f.bytes && f.bytes[ETHERNET_HEADER_LEN + 9] === 17,
    )!;
    expect(query, 'the client sent a UDP datagram').toBeTruthy();
    const ifOff = interfaceAt(off, query.point),
      ifOn = interfaceAt(on, query.point);
    const fp = on.emu.runtime.fastPath!;
    // Replied within 2 s: the conntrack class depends on the time, so nothing may be replayed yet.
    inject(off, ifOff, query.bytes!, 20);
    inject(on, ifOn, query.bytes!, 20);
    expect(fp.stats.hits, 'no replay while the UDP flow is not yet a stream').toBe(0);
    expectEquivalent(off, on, 'after 20 queries within 2 s');
    for (const side of [off, on]) side.emu.runtime.clock.advance(3_000_000_000);
    inject(off, ifOff, query.bytes!, 40);
    inject(on, ifOn, query.bytes!, 40);
    expect(fp.stats.hits, 'queries and answers replayed once the flow is a stream').toBeGreaterThan(40);
    expectEquivalent(off, on, 'after 40 more queries 3 s later');
  });
});
