/**
 * The fixed flow set of a sharded run: flow i is the scenario's conversation number i mod k with its own client
 * source port, starting at virtual time i x spacing, in the shard its 4-tuple hashes to. Every worker and the
 * main thread compute the same set from (scenario, shards) alone, so messages carry flow numbers, not specs.
 *
 * Source ports: 1024 + floor(i / k), so the 4-tuples of the first `capacity` flows are all different (a
 * client port is never reused inside one emulation: the server still holds the old connection).
 */

import type { Ipv4Address } from '../../codecs/bytes.js';
import { builtinClusterDocuments } from '../cluster/builtin.js';
import type { Cluster } from '../cluster/types.js';
import { findScenario } from '../scenarios/catalog.js';
import type { Scenario } from '../scenarios/scenario.js';
import type { FlowSpec, Source } from '../walk/flow.js';
import { scenarioCluster } from '../scenarios/run-scenario.js';
import { RSS_KEY_SYMMETRIC, rssHashIpv4, rssQueue } from './rss-hash.js';

/** First client source port of the flow set. */
export const FIRST_SOURCE_PORT = 1024;
/** Client source ports available per base conversation (1024-65535). */
export const SOURCE_PORTS = 65536 - FIRST_SOURCE_PORT;
/** Default virtual time between the starts of consecutive flows: 1 ms (a TCP exchange here takes ~0.2 ms). */
export const DEFAULT_SPACING_NS = 1_000_000;

export interface FlowSetOptions {
  /** Scenario of the built-in catalogue whose conversations are repeated. */
  scenario: string;
  /** Number of shards (RSS queues, each its own replica of the cluster). Fixed per run: the bytes depend on it. */
  shards: number;
  /** Virtual ns between flow starts (default 1 ms). */
  spacingNs?: number;
}

/** The address a flow's client sends from, from the cluster model (no emulation needed). */
export function sourceAddress(cluster: Cluster, src: Source): Ipv4Address {
  switch (src.kind) {
    case 'pod': {
      const p = cluster.pods.find((x) => x.namespace === src.namespace && x.name === src.name);
      if (!p) throw new Error(`no pod ${src.namespace}/${src.name}`);
      return p.ip;
    }
    case 'node': {
      const n = cluster.hostSubnets.find((h) => h.name === src.name);
      if (!n) throw new Error(`no node ${src.name}`);
      return n.hostIP;
    }
    case 'external': {
      const e = cluster.externalHosts.find((h) => h.name === src.name);
      if (!e) throw new Error(`no external host ${src.name}`);
      return e.ip;
    }
  }
}

export class FlowSet {
  readonly scenario: Scenario;
  readonly cluster: Cluster;
  /** The scenario's conversations, repeated round robin. */
  readonly base: readonly FlowSpec[];
  readonly shards: number;
  readonly spacingNs: number;
  /** Flows before a client port would repeat. */
  readonly capacity: number;
  private readonly srcIps: Ipv4Address[];
  /** shardOf(i) + 1 per flow, 0 until computed (a Toeplitz hash per flow is cheap, but not free). */
  private readonly shardCache: Uint16Array;

  constructor(opts: FlowSetOptions) {
    const s = findScenario(opts.scenario);
    if (!s) throw new Error(`no scenario ${JSON.stringify(opts.scenario)}`);
    if (!(Number.isInteger(opts.shards) && opts.shards >= 1))
      throw new Error(`shards must be a positive integer, got ${opts.shards}`);
    this.scenario = s;
    this.cluster = scenarioCluster(s, builtinClusterDocuments(), '<builtin>');
    this.base = s.flows(this.cluster);
    if (this.base.length === 0) throw new Error(`scenario ${s.name} has no flow`);
    this.shards = opts.shards;
    this.spacingNs = opts.spacingNs ?? DEFAULT_SPACING_NS;
    this.capacity = this.base.length * SOURCE_PORTS;
    this.srcIps = this.base.map((f) => sourceAddress(this.cluster, f.from));
    if (this.shards > 0xfffe) throw new Error(`at most ${0xfffe} shards, got ${this.shards}`);
    this.shardCache = new Uint16Array(this.capacity);
  }

  /** Flow i's conversation with its fixed client port. */
  spec(i: number): FlowSpec {
    this.check(i);
    const k = this.base.length;
    return { ...this.base[i % k]!, sourcePort: this.sourcePort(i) };
  }

  sourcePort(i: number): number {
    return FIRST_SOURCE_PORT + Math.floor(i / this.base.length);
  }

  /** Virtual time flow i starts at (later if the shard's previous flow ran past it). */
  startNs(i: number): number {
    return i * this.spacingNs;
  }

  /** The shard of flow i: symmetric RSS hash of its 4-tuple (ICMP: addresses only). */
  shardOf(i: number): number {
    this.check(i);
    const cached = this.shardCache[i]!;
    if (cached !== 0) return cached - 1;
    const k = this.base.length;
    const f = this.base[i % k]!;
    const icmp = f.proto === 'icmp';
    const shard = rssQueue(
      rssHashIpv4(
        RSS_KEY_SYMMETRIC,
        this.srcIps[i % k]!,
        f.to.ip,
        icmp ? 0 : this.sourcePort(i),
        icmp ? 0 : f.to.port,
        !icmp,
      ),
      this.shards,
    );
    this.shardCache[i] = shard + 1;
    return shard;
  }

  private check(i: number): void {
    if (!(Number.isInteger(i) && i >= 0 && i < this.capacity))
      throw new Error(`flow ${i} outside the flow set (0-${this.capacity - 1}: client ports would repeat)`);
  }
}
