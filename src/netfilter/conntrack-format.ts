/**
 * Conntrack as text: the table as `conntrack -L` prints it, and the state, entry and endpoint texts of the trace's
 * conntrack and NAT steps (cold paths: only traces ask).
 *
 * The table printed as `conntrack -L` prints it (libnetfilter_conntrack's default output):
 *
 *   tcp      6 431999 ESTABLISHED src=10.131.0.20 dst=172.30.82.94 sport=40000 dport=8080 src=10.131.0.40 dst=10.131.0.20 sport=8080 dport=40000 [ASSURED] mark=0 use=1
 *   udp      17 29 src=... dst=... sport=... dport=... [UNREPLIED] src=... mark=0 use=1
 *   icmp     1 29 src=... dst=... type=8 code=0 id=7 src=... dst=... type=0 code=0 id=7 mark=0 use=1
 *
 * The protocol name is padded to 8 columns, the timeout is whole seconds left, the TCP state is printed for TCP
 * only, `[UNREPLIED]` follows the original tuple until a reply was seen, `[ASSURED]` the reply tuple, `zone=N`
 * appears for a non-zero zone.
 */

import { ipv4ToString, readU16, readU32 } from '../../codecs/bytes.js';
import { CT_DNAT, CT_EST, CT_INV, CT_NEW, CT_REL, CT_RPL, CT_SNAT, CT_TRK } from '../buffer/packet-buffer.js';
import type { Conntrack, ConntrackEntry, CtTupleNode } from './conntrack.js';
import { IPS_ASSURED, IPS_SEEN_REPLY } from './conntrack.js';
import { TCP_STATE_NAMES } from './tcp-state.js';
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './tuple.js';

/** The protocol's name as conntrack prints it; `other` for a protocol without a tracker of its own. */
function protoLabel(p: number, other = 'unknown'): string {
  return p === PROTO_TCP ? 'tcp' : p === PROTO_UDP ? 'udp' : p === PROTO_ICMP ? 'icmp' : other;
}

function tupleText(t: CtTupleNode): string {
  let s = `src=${ipv4ToString(t.src)} dst=${ipv4ToString(t.dst)}`;
  if (t.proto === PROTO_TCP || t.proto === PROTO_UDP) s += ` sport=${t.sport} dport=${t.dport}`;
  else if (t.proto === PROTO_ICMP) s += ` type=${t.dport} code=0 id=${t.sport}`;
  return s;
}

/** One entry as a `conntrack -L` line, with the seconds left at `now`. */
export function formatConntrackEntry(e: ConntrackEntry, secondsLeft: number): string {
  const p = e.orig.proto;
  let s = `${protoLabel(p).padEnd(8)} ${p} ${secondsLeft} `;
  if (p === PROTO_TCP) s += `${TCP_STATE_NAMES[e.tcpState] ?? 'NONE'} `;
  s += tupleText(e.orig);
  if (!(e.status & IPS_SEEN_REPLY)) s += ' [UNREPLIED]';
  s += ` ${tupleText(e.reply)}`;
  if (e.status & IPS_ASSURED) s += ' [ASSURED]';
  s += ` mark=${e.mark >>> 0}`;
  if (e.zone) s += ` zone=${e.zone}`;
  return s + ' use=1';
}

/** The whole table (`conntrack -L`), oldest entry first, one line each. */
export function formatConntrackTable(ct: Conntrack, now: number): string {
  ct.expire(now);
  return ct
    .entries()
    .map((e) => formatConntrackEntry(e, ct.secondsLeft(e, now)) + '\n')
    .join('');
}

/** ct_state bits as OVS writes them in flows: `+trk+new`, `+trk+est+rpl+dnat`. */
export function ctStateText(st: number): string {
  if (!(st & CT_TRK)) return '-trk';
  let s = '+trk';
  if (st & CT_NEW) s += '+new';
  if (st & CT_EST) s += '+est';
  if (st & CT_REL) s += '+rel';
  if (st & CT_RPL) s += '+rpl';
  if (st & CT_INV) s += '+inv';
  if (st & CT_SNAT) s += '+snat';
  if (st & CT_DNAT) s += '+dnat';
  return s;
}

/** An entry in a trace: `tcp 10.128.0.5:40000 -> 172.30.82.94:80, reply 10.129.0.7:8080 -> 10.128.0.5:40000`. */
export function ctEntryText(e: ConntrackEntry): string {
  const o = e.orig,
    r = e.reply;
  const ports = o.proto === PROTO_TCP || o.proto === PROTO_UDP;
  const ep = (a: number, p: number): string => (ports ? `${ipv4ToString(a)}:${p}` : ipv4ToString(a));
  return `${protoLabel(o.proto, String(o.proto))} ${ep(o.src, o.sport)} -> ${ep(o.dst, o.dport)}, reply ${ep(r.src, r.sport)} -> ${ep(r.dst, r.dport)}`;
}

/** `ip:port` (or `ip`) of the IPv4 packet's source (`source` true) or destination at l3. */
export function endpointText(b: Uint8Array, l3: number, source: boolean): string {
  const proto = b[l3 + 9]!;
  const l4 = l3 + ((b[l3]! & 0x0f) << 2);
  const ip = ipv4ToString(readU32(b, l3 + (source ? 12 : 16)));
  if (proto === PROTO_TCP || proto === PROTO_UDP) return `${ip}:${readU16(b, l4 + (source ? 0 : 2))}`;
  return ip;
}

/** `src:port -> dst:port` (or `src -> dst`) of the IPv4 packet at l3. */
export function addrText(b: Uint8Array, l3: number): string {
  return `${endpointText(b, l3, true)} -> ${endpointText(b, l3, false)}`;
}
