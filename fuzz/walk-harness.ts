/**
 * Walk fuzzing: inject arbitrary frames at the places a frame can enter the built-in cluster — a pod's eth0, a
 * node's NIC (from the underlay, and onto it), the underlay gateway, the external host — let the emulation
 * settle, and check what must hold for every frame, however malformed:
 *
 * - no exception escapes;
 * - the buffer pool is whole again (nothing leaked, nothing released twice);
 * - the injected frame ended somewhere: delivered, dropped with a reason, or consumed (a host looked at it and
 *   had no use for it); frames made in answer (replies, ICMP errors, ARP) ended somewhere too;
 * - the counters add up: every buffer that was handed out came back, each through a delivery, a counted drop
 *   or a consumption — none silently.
 *
 * Traced injections (`traced: true`) check each packet's own outcome; untraced ones go through the fast path
 * and are checked by the counters.
 */

import { MAX_FRAME, type BufferPool, type PacketBuffer } from '../src/buffer/packet-buffer.js';
import { builtinCluster } from '../src/cluster/builtin.js';
import { createFastPath } from '../src/fastpath/fast-path.js';
import { Emulation } from '../src/node/emulation.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { SCENARIOS } from '../src/scenarios/catalog.js';
import { runFlow } from '../src/walk/flow.js';
import type { Vocabulary } from './frames.js';

/** A place to put a frame on a wire. */
export interface InjectionPoint {
  name: string;
  inject(pkt: PacketBuffer): void;
}

/** What happened to one injected frame. */
export interface InjectionResult {
  /** How the injected frame itself ended (traced injections only; `untraced` otherwise). */
  fate: 'delivered' | 'dropped' | 'consumed' | 'untraced';
  /** The drop reason (traced drops). */
  reason?: string;
  /** Buffers the walk made besides the injected one (answers, ARP, copies). */
  made: number;
  /** Violations of the invariants; empty when all held. */
  problems: string[];
}

/** Counts of terminal events, kept by wrapping the runtime's and the pool's methods. */
class Ledger {
  delivered = 0;
  dropped = 0;
  consumed = 0;
  acquired = 0;
  released = 0;

  constructor(rt: Runtime) {
    const pool: BufferPool = rt.pool;
    const acquire = pool.acquire.bind(pool),
      release = pool.release.bind(pool);
    pool.acquire = () => {
      this.acquired++;
      return acquire();
    };
    pool.release = (b) => {
      this.released++;
      release(b);
    };
    const wrap = (name: 'deliver' | 'drop' | 'consume', count: () => void): void => {
      const orig = rt[name].bind(rt) as (pkt: PacketBuffer, host: string, what: string) => void;
      rt[name] = (pkt: PacketBuffer, host: string, what: string) => {
        count();
        orig(pkt, host, what);
      };
    };
    wrap('deliver', () => this.delivered++);
    wrap('drop', () => this.dropped++);
    wrap('consume', () => this.consumed++);
  }

  get events(): number {
    return this.delivered + this.dropped + this.consumed;
  }
}

export class WalkFuzzer {
  readonly emu: Emulation;
  readonly points: InjectionPoint[] = [];
  readonly vocabulary: Vocabulary;
  private readonly ledger: Ledger;

  constructor(seed = 1) {
    const emu = (this.emu = new Emulation(builtinCluster(), { seed, fastPath: createFastPath }));
    // Warm up as the scenarios do (ARP caches, conntrack entries, sockets): mutated copies of real traffic then
    // meet the state real traffic leaves.
    for (const s of SCENARIOS) {
      if (s.editDocuments) continue;
      for (const spec of s.flows(emu.cluster)) runFlow(emu, spec);
    }
    for (const node of emu.nodes.values()) {
      this.points.push({ name: `${node.name}/eth0 (from the underlay)`, inject: (p) => node.nic.receiveFrame(p) });
      this.points.push({ name: `${node.name}/eth0 (onto the underlay)`, inject: (p) => node.nic.transmit(p) });
      for (const pod of node.pods.values())
        this.points.push({ name: `${pod.pod.namespace}/${pod.pod.name}/eth0`, inject: (p) => pod.eth0.transmit(p) });
    }
    const gw = emu.gateway;
    for (const iface of gw.interfaces)
      this.points.push({ name: `gateway/${iface.name}`, inject: (p) => iface.transmit(p) });
    for (const [name, ext] of emu.externals)
      for (const iface of ext.interfaces)
        this.points.push({ name: `${name}/${iface.name}`, inject: (p) => iface.transmit(p) });

    const ips = new Set<number>(),
      macs = new Set<number>(),
      ports = new Set<number>([53, 80, 443, 8080, 1433, 30039]);
    for (const st of emu.stacks()) {
      for (const i of st.interfaces) {
        macs.add(i.mac);
        for (const a of i.addresses) ips.add(a.ip >>> 0);
      }
    }
    for (const s of emu.cluster.services) {
      ips.add(s.clusterIP >>> 0);
      for (const ip of s.externalIPs) ips.add(ip >>> 0);
      for (const p of s.ports) ports.add(p.port);
    }
    for (const p of emu.cluster.pods) for (const c of p.ports) ports.add(c.port);
    this.vocabulary = { ips: [...ips], macs: [...macs], ports: [...ports] };
    this.ledger = new Ledger(emu.runtime);
  }

  /** Inject `frame` at point `at` (taken modulo the number of points) and check the invariants. */
  inject(frame: Uint8Array, at: number, traced: boolean): InjectionResult {
    const rt = this.emu.runtime;
    const L = this.ledger;
    const point = this.points[at % this.points.length]!;
    const outstanding = rt.pool.allocated - rt.pool.available;
    const acquired = L.acquired,
      released = L.released,
      events = L.events;
    const firstPacket = rt.packets.length;
    rt.tracing = traced;
    const problems: string[] = [];
    let pkt: PacketBuffer | undefined;
    try {
      pkt = rt.newPacket('fuzz', `fuzzed frame at ${point.name}`);
      pkt.load(frame.length > MAX_FRAME ? frame.subarray(0, MAX_FRAME) : frame);
      point.inject(pkt);
      this.emu.settle();
    } catch (e) {
      problems.push(`exception: ${(e as Error).stack ?? String(e)}`);
    } finally {
      rt.tracing = false;
    }
    const nowOutstanding = rt.pool.allocated - rt.pool.available;
    if (nowOutstanding !== outstanding)
      problems.push(
        `buffer pool: ${nowOutstanding - outstanding > 0 ? `${nowOutstanding - outstanding} leaked` : `${outstanding - nowOutstanding} released twice`}`,
      );
    const made = L.acquired - acquired - 1;
    if (L.released - released !== L.acquired - acquired && problems.length === 0)
      problems.push(`acquired ${L.acquired - acquired} buffers, released ${L.released - released}`);
    if (L.events === events) problems.push('the frame vanished: no delivery, drop or consumption');
    const silent = L.released - released - (L.events - events);
    if (silent !== 0) problems.push(`${silent} buffer(s) released without a delivery, drop or consumption`);
    let fate: InjectionResult['fate'] = 'untraced';
    let reason: string | undefined;
    if (traced) {
      const walked = rt.packets.slice(firstPacket);
      const mine = walked[0]?.outcome;
      if (!mine) problems.push('the injected frame has no outcome');
      else {
        fate = mine.kind;
        reason = mine.reason;
        if (mine.kind === 'dropped' && !mine.reason) problems.push('dropped without a reason');
      }
      for (const w of walked) if (!w.outcome) problems.push(`packet "${w.label}" made during the walk has no outcome`);
      rt.packets.length = firstPacket; // keep the runtime's list from growing across injections
    }
    return { fate, reason, made, problems };
  }
}
