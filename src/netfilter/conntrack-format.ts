/**
 * The conntrack table printed as `conntrack -L` prints it (libnetfilter_conntrack's default output):
 *
 *   tcp      6 431999 ESTABLISHED src=10.131.0.20 dst=172.30.82.94 sport=40000 dport=8080 src=10.131.0.40 dst=10.131.0.20 sport=8080 dport=40000 [ASSURED] mark=0 use=1
 *   udp      17 29 src=... dst=... sport=... dport=... [UNREPLIED] src=... mark=0 use=1
 *   icmp     1 29 src=... dst=... type=8 code=0 id=7 src=... dst=... type=0 code=0 id=7 mark=0 use=1
 *
 * The protocol name is padded to 8 columns, the timeout is whole seconds left, the TCP state is printed for TCP
 * only, `[UNREPLIED]` follows the original tuple until a reply was seen, `[ASSURED]` the reply tuple, `zone=N`
 * appears for a non-zero zone.
 */

import { ipv4ToString } from '../../codecs/bytes.js';
import type { Conntrack, ConntrackEntry, CtTupleNode } from './conntrack.js';
import { IPS_ASSURED, IPS_SEEN_REPLY } from './conntrack.js';
import { TCP_STATE_NAMES } from './tcp-state.js';
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './tuple.js';

function protoLabel(p: number): string {
  return p === PROTO_TCP ? 'tcp' : p === PROTO_UDP ? 'udp' : p === PROTO_ICMP ? 'icmp' : 'unknown';
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
