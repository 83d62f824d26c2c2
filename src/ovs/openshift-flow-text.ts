/**
 * The few OpenFlow matches and actions the OpenShift SDN flow set uses, written in the normal form that
 * `ovs-ofctl -O OpenFlow13 dump-flows br0 --no-stats` prints (Open vSwitch 3.1, checked by loading the flows into
 * a real ovs-vswitchd):
 *
 *   cookie=0xf46ee1a, table=10, priority=100,tun_src=10.0.123.45 actions=goto_table:30
 *
 * - `cookie=0x..., ` only when nonzero, hex without padding; `table=N, ` always (OVS omits it for table 0, we keep
 *   it so every line says its table).
 * - `priority=N` is omitted when it is the OpenFlow default 32768 (table 110's multicast flows, table 253's note).
 * - Match fields come in OVS's own order: pkt_mark, ct_state, the protocol shorthand (ip/arp/tcp/udp), reg0, reg1,
 *   tun_src, in_port, nw_src/arp_spa, nw_dst/arp_tpa, arp_sha, tp_dst. ARP addresses print as arp_spa/arp_tpa,
 *   `udp_dst=` as `tp_dst=`, `/32` is dropped and a `/0` field disappears.
 * - Registers print in hex (`reg0=0x2a`, but `reg0=0`), `load:` values too (`load:0x2a->NXM_NX_REG0[]`).
 *
 * Flows are generated as data ({@link FlowSpec}), formatted once, then ordered the way this module documents in
 * {@link FlowSet}.
 */

import { type Ipv4Address, type Ipv4Cidr, ipv4ToString } from '../../codecs/bytes.js';

/** OpenFlow's default priority; `ovs-ofctl` leaves it out of the dump. */
export const DEFAULT_PRIORITY = 32768;

export type FlowProto = 'ip' | 'arp' | 'tcp' | 'udp';

/** A match, field by field. Unset fields are wildcards. */
export interface MatchSpec {
  ctState?: string; // '-trk', '+rpl', '-rpl'
  proto?: FlowProto;
  reg0?: number;
  reg1?: number;
  tunSrc?: Ipv4Address;
  inPort?: number;
  /** nw_src (arp_spa for ARP): a CIDR or a single address. */
  nwSrc?: Ipv4Cidr | Ipv4Address;
  /** nw_dst (arp_tpa for ARP). */
  nwDst?: Ipv4Cidr | Ipv4Address;
  /** arp_sha as `value/mask` text, already normal (lowercase, zero-padded). */
  arpSha?: string;
  tpDst?: number;
}

export interface FlowSpec {
  table: number;
  /** Undefined = OpenFlow default (32768), as when SDN adds a flow without `priority=`. */
  priority?: number;
  cookie?: number;
  match: MatchSpec;
  /** Normal-form action list, e.g. `load:0x2a->NXM_NX_REG0[],goto_table:27`. */
  actions: string;
}

/** `0x2a`, or `0` for zero: how OVS prints register values and `load:` immediates. */
export function ofHex(v: number): string {
  return v === 0 ? '0' : `0x${(v >>> 0).toString(16)}`;
}

function addressText(a: Ipv4Cidr | Ipv4Address): string | undefined {
  if (typeof a === 'number') return ipv4ToString(a);
  if (a.prefix === 0) return undefined; // OVS drops a match on 0.0.0.0/0
  return a.prefix === 32 ? ipv4ToString(a.network) : `${ipv4ToString(a.network)}/${a.prefix}`;
}

/** The match part of a dump line (without priority), comma-joined in OVS order. */
export function formatMatch(m: MatchSpec): string {
  const parts: string[] = [];
  if (m.ctState !== undefined) parts.push(`ct_state=${m.ctState}`);
  if (m.proto !== undefined) parts.push(m.proto);
  if (m.reg0 !== undefined) parts.push(`reg0=${ofHex(m.reg0)}`);
  if (m.reg1 !== undefined) parts.push(`reg1=${ofHex(m.reg1)}`);
  if (m.tunSrc !== undefined) parts.push(`tun_src=${ipv4ToString(m.tunSrc)}`);
  if (m.inPort !== undefined) parts.push(`in_port=${m.inPort}`);
  const arp = m.proto === 'arp';
  if (m.nwSrc !== undefined) {
    const t = addressText(m.nwSrc);
    if (t !== undefined) parts.push(`${arp ? 'arp_spa' : 'nw_src'}=${t}`);
  }
  if (m.nwDst !== undefined) {
    const t = addressText(m.nwDst);
    if (t !== undefined) parts.push(`${arp ? 'arp_tpa' : 'nw_dst'}=${t}`);
  }
  if (m.arpSha !== undefined) parts.push(`arp_sha=${m.arpSha}`);
  if (m.tpDst !== undefined) parts.push(`tp_dst=${m.tpDst}`);
  return parts.join(',');
}

/** One dump line: `[cookie=0x.., ]table=N, [priority=P,]match actions=...`. */
export function formatFlow(f: FlowSpec): string {
  const cookie = f.cookie ? `cookie=0x${(f.cookie >>> 0).toString(16)}, ` : '';
  const priority = f.priority === undefined || f.priority === DEFAULT_PRIORITY ? '' : `priority=${f.priority}`;
  const match = formatMatch(f.match);
  const body = priority && match ? `${priority},${match}` : priority || match;
  return `${cookie}table=${f.table}, ${body ? `${body} ` : ''}actions=${f.actions}`;
}

/**
 * Merge match fragments (NetworkPolicy builds flows from a target, a peer and a port piece, as SDN concatenates
 * `"ip, nw_dst=A, " + "reg0=N, " + "tcp, tp_dst=80, "`). A transport protocol refines `ip`; any other field set
 * twice to different values is a bug in the caller.
 */
export function mergeMatches(...pieces: MatchSpec[]): MatchSpec {
  const out: MatchSpec = {};
  for (const p of pieces) {
    for (const key of Object.keys(p) as (keyof MatchSpec)[]) {
      const v = p[key];
      if (v === undefined) continue;
      if (key === 'proto') {
        const cur = out.proto;
        if (cur === undefined || cur === 'ip') out.proto = v as FlowProto;
        else if (v !== 'ip' && v !== cur) throw new Error(`conflicting protocols ${cur} and ${String(v)}`);
        continue;
      }
      const cur = out[key];
      if (cur !== undefined && JSON.stringify(cur) !== JSON.stringify(v)) {
        throw new Error(`conflicting values for ${key}`);
      }
      (out as Record<string, unknown>)[key] = v;
    }
  }
  return out;
}

interface Entry {
  table: number;
  priority: number;
  seq: number;
  text: string;
}

/**
 * An ordered set of flows with OVS's identity rule: a flow whose table, priority and match equal an earlier one
 * replaces it (that is what `add-flow` does), keeping the earlier one's place. `lines()` orders by table, then
 * priority from high to low, then the order the flows were added. Real OVS dumps equal-priority flows (and even
 * different priorities) in classifier order, which is not specified; SDN's own insertion order is the stable
 * choice here.
 */
export class FlowSet {
  private readonly byKey = new Map<string, Entry>();
  private seq = 0;

  add(f: FlowSpec): void {
    const priority = f.priority ?? DEFAULT_PRIORITY;
    const key = `${f.table}|${priority}|${formatMatch(f.match)}`;
    const text = formatFlow(f);
    const prev = this.byKey.get(key);
    if (prev) prev.text = text;
    else this.byKey.set(key, { table: f.table, priority, seq: this.seq++, text });
  }

  get size(): number {
    return this.byKey.size;
  }

  lines(): string[] {
    return [...this.byKey.values()]
      .sort((a, b) => a.table - b.table || b.priority - a.priority || a.seq - b.seq)
      .map((e) => e.text);
  }
}
