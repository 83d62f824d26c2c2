/** Read a scenario's captured frames as hops with decoded addresses (test helper). */

import { ipv4ToString, readU16, readU32 } from '../../codecs/bytes.js';
import { Dissection, dissect } from '../../codecs/dissect.js';
import type { ScenarioResult } from '../../src/scenarios/run-scenario.js';

export interface Hop {
  point: string;
  direction: 'inbound' | 'outbound';
  /** Innermost addresses and ports: `10.131.0.40:41174`. */
  src: string;
  dst: string;
  ttl: number;
  /** Outer addresses and VNI for VXLAN frames. */
  outerSrc?: string;
  outerDst?: string;
  vni?: number;
  comment?: string;
}

const d = new Dissection();

export function hopsOf(r: ScenarioResult, walkIndex: number): Hop[] {
  const out: Hop[] = [];
  for (const f of r.recorder.frames) {
    if (f.walkIndex !== walkIndex || !f.bytes) continue;
    dissect(f.bytes, 0, f.bytes.length, d);
    if (d.ipv4 < 0) continue;
    const b = f.bytes;
    const ports = d.l4 >= 0 && (d.l4Kind === 'tcp' || d.l4Kind === 'udp');
    const hop: Hop = {
      point: r.recorder.points[f.point]!.name,
      direction: f.direction,
      src: ipv4ToString(readU32(b, d.ipv4 + 12)) + (ports ? `:${readU16(b, d.l4)}` : ''),
      dst: ipv4ToString(readU32(b, d.ipv4 + 16)) + (ports ? `:${readU16(b, d.l4 + 2)}` : ''),
      ttl: b[d.ipv4 + 8]!,
    };
    if (d.vxlan >= 0) {
      hop.outerSrc = ipv4ToString(readU32(b, d.outerIpv4 + 12));
      hop.outerDst = ipv4ToString(readU32(b, d.outerIpv4 + 16));
      hop.vni = d.vni;
    }
    if (f.comment) hop.comment = f.comment;
    out.push(hop);
  }
  return out;
}

/** The walk index of the first packet whose label starts with `label` (e.g. 'TCP SYN', 'TCP SYN-ACK'). */
export function packetIndex(r: ScenarioResult, label: string, from = 0): number {
  const p = r.packets.find((x) => x.index >= from && x.label.startsWith(label));
  if (!p)
    throw new Error(`no packet labelled ${label} in ${r.scenario.name}: ${r.packets.map((x) => x.label).join(', ')}`);
  return p.index;
}

export function at(hops: Hop[], point: RegExp | string, direction?: 'inbound' | 'outbound'): Hop {
  const h = hops.find(
    (x) =>
      (typeof point === 'string' ? x.point === point : point.test(x.point)) &&
      (!direction || x.direction === direction),
  );
  if (!h) throw new Error(`no hop at ${point}: ${hops.map((x) => x.point).join(' -> ')}`);
  return h;
}
