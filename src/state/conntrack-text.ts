/**
 * `conntrack -L` text (conntrack-tools 1.4.x, libnetfilter_conntrack's default output), read back:
 *
 *   tcp      6 431999 ESTABLISHED src=10.131.0.20 dst=172.30.82.94 sport=40000 dport=8080 src=10.131.0.40 dst=10.131.0.20 sport=8080 dport=40000 [ASSURED] mark=0 use=1
 *   icmp     1 29 src=... dst=... type=8 code=0 id=7 src=... dst=... type=0 code=0 id=7 mark=0 use=1
 *
 * Fields the emulated conntrack does not keep (secctx, labels, helper, id, use, zone direction) are read past.
 * The tool's stderr summary line, pasted in with `2>&1`, is skipped.
 */

import { tryParseIpv4 } from '../../codecs/bytes.js';
import { TCP_STATE_NAMES } from '../netfilter/tcp-state.js';
import { CtTuple, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from '../netfilter/tuple.js';
import { StateFileError } from './errors.js';

export interface ConntrackLine {
  orig: CtTuple;
  reply: CtTuple;
  tcpState: number;
  replied: boolean;
  assured: boolean;
  mark: number;
  zone: number;
  secondsLeft: number;
  line: number;
  text: string;
}

/** Parses a `conntrack -L` listing; protocols other than TCP, UDP and ICMP are skipped (not tracked here). */
export function parseConntrackList(text: string, file: string): ConntrackLine[] {
  const out: ConntrackLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === '' || t.startsWith('#') || /^conntrack v[\d.]+ \(conntrack-tools\)/.test(t)) continue;
    const fail = (msg: string): never => {
      throw new StateFileError(file, msg, i + 1);
    };
    const w = t.split(/\s+/);
    const proto = Number(w[1]);
    if (!/^\d+$/.test(w[1] ?? '') || !/^\d+$/.test(w[2] ?? ''))
      fail(`expected "PROTO NUMBER TIMEOUT ..." as conntrack -L prints it, got ${JSON.stringify(t.slice(0, 40))}`);
    if (proto !== PROTO_TCP && proto !== PROTO_UDP && proto !== PROTO_ICMP) continue;
    const secondsLeft = Number(w[2]);
    let k = 3;
    let tcpState = 0;
    if (proto === PROTO_TCP) {
      tcpState = TCP_STATE_NAMES.indexOf(w[3] as (typeof TCP_STATE_NAMES)[number]);
      if (tcpState < 0) fail(`unknown TCP state ${JSON.stringify(w[3])}`);
      k = 4;
    }
    const tuples: CtTuple[] = [];
    let cur: Record<string, string> | null = null;
    let replied = true,
      assured = false,
      mark = 0,
      zone = 0;
    const finish = (): void => {
      if (!cur) return;
      const src = tryParseIpv4(cur.src ?? ''),
        dst = tryParseIpv4(cur.dst ?? '');
      if (src === undefined || dst === undefined) fail('a tuple without IPv4 src= and dst=');
      const tu = new CtTuple();
      if (proto === PROTO_ICMP) tu.set(proto, src!, dst!, Number(cur.id ?? 0), Number(cur.type ?? 0));
      else {
        if (cur.sport === undefined || cur.dport === undefined) fail('a TCP/UDP tuple without sport= and dport=');
        tu.set(proto, src!, dst!, Number(cur.sport), Number(cur.dport));
      }
      tuples.push(tu);
      cur = null;
    };
    for (; k < w.length; k++) {
      const word = w[k]!;
      if (word === '[UNREPLIED]') replied = false;
      else if (word === '[ASSURED]') assured = true;
      else if (word.startsWith('['))
        continue; // [OFFLOAD], [HW_OFFLOAD]
      else {
        const eq = word.indexOf('=');
        if (eq < 0) fail(`unexpected ${JSON.stringify(word)}`);
        const key = word.slice(0, eq),
          val = word.slice(eq + 1);
        if (key === 'src') {
          finish();
          if (tuples.length >= 2) fail('more than two tuples');
          cur = { src: val };
        } else if (cur && ['dst', 'sport', 'dport', 'type', 'code', 'id'].includes(key)) cur[key] = val;
        else {
          finish();
          if (key === 'mark') mark = Number(val) >>> 0;
          else if (key === 'zone') zone = Number(val);
          // secctx, use, labels, helper, id, delta-time, timestamps: not kept
        }
      }
    }
    finish();
    if (tuples.length !== 2) fail('expected an original and a reply tuple');
    out.push({
      orig: tuples[0]!,
      reply: tuples[1]!,
      tcpState,
      replied,
      assured,
      mark,
      zone,
      secondsLeft,
      line: i + 1,
      text: t,
    });
  }
  return out;
}
