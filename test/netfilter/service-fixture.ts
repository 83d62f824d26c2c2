/** A node-a netfilter walk to a service, shared by the netfilter and OVS ct() tests. */

import { Ipv4View } from '../../codecs/ipv4.js';
import type { Netfilter } from '../../src/netfilter/evaluate.js';
import { Prng } from '../../src/netfilter/prng.js';
import { NF_ACCEPT } from '../../src/runtime/netfilter-hooks.js';
import type { TraceRecorder } from '../../src/trace/types.js';
import type { Ends, tcp } from './packets.js';

type P = ReturnType<typeof tcp>;

export function forward(nf: Netfilter, p: P, inIf: string, outIf: string, trace?: TraceRecorder): number {
  let v = nf.prerouting(p.pkt, p.l3, inIf, trace);
  if (v !== NF_ACCEPT) return v;
  new Ipv4View(p.pkt.data, p.l3).decrementTtl();
  v = nf.forward(p.pkt, p.l3, inIf, outIf, trace);
  if (v !== NF_ACCEPT) return v;
  return nf.postrouting(p.pkt, p.l3, outIf, trace);
}

export const TO_SVC: Ends = { src: '10.128.0.5', dst: '172.30.82.94', sport: 40000, dport: 80 };
// Endpoints in KUBE-SVC rule order (sorted by "ip:port").
export const EPS = ['10.128.0.6', '10.129.0.7', '10.129.0.8'];

/** The endpoint xt_statistic picks with this seed: rule i matches when (u32 & 0x7fffffff) < round(p_i * 2^31). */
export function expectedEndpoint(seed: number): string {
  const r = new Prng(seed);
  if ((r.nextU32() & 0x7fffffff) < Math.round(0x80000000 / 3)) return EPS[0]!;
  if ((r.nextU32() & 0x7fffffff) < 0x40000000) return EPS[1]!;
  return EPS[2]!;
}
