/**
 * What br0 decided for one frame, in a form both `ovs-appctl ofproto/trace` text and packetwalk's trace reduce
 * to, so the two can be compared pass by pass (the first pass and each conntrack recirculation):
 *   - the datapath actions: `output:N` (br0 ofport), `vxlan:vni=0x..,dst=A.B.C.D` (tunnel output with the VNI
 *     and remote node), `ct`, `ct(commit)`, `ct(nat)`, `recirc`; an empty list is a drop;
 *   - the final flow's fields that flows can set or that decide forwarding (registers, MACs, addresses, ports,
 *     TTL, pkt_mark, ct_mark, tun_dst, ct_state).
 */

import type { BridgePass } from './br0-entries.js';

export interface PassDecision {
  actions: string[];
  fields: Record<string, string>;
}

/** Fields compared in each pass's final flow; absent means the field's zero value. */
export const COMPARED_FIELDS = [
  'in_port',
  'reg0',
  'reg1',
  'reg2',
  'reg3',
  'pkt_mark',
  'ct_mark',
  'ct_state',
  'tun_dst',
  'dl_src',
  'dl_dst',
  'nw_src',
  'nw_dst',
  'nw_ttl',
  'nw_tos',
  'tp_src',
  'tp_dst',
  'arp_op',
  'arp_spa',
  'arp_tpa',
  'arp_sha',
  'arp_tha',
] as const;

/** Fields a ct(nat) in OVS's conntrack would have rewritten (see the note in ovs-oracle.test.ts). */
export const NAT_FIELDS = new Set(['nw_src', 'nw_dst', 'tp_src', 'tp_dst']);

/** Split on commas outside parentheses: `ct(commit,nat),recirc(0x2)` -> [`ct(commit,nat)`, `recirc(0x2)`]. */
export function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0,
    cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out.map((t) => t.trim()).filter(Boolean);
}

/** `k=v,...` of a flow line into a map (bare protocol words such as `tcp` are ignored). */
export function flowFields(flow: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const t of splitTop(flow)) {
    const i = t.indexOf('=');
    if (i > 0) m.set(t.slice(0, i), t.slice(i + 1));
  }
  return m;
}

function normalize(key: string, v: string | undefined): string {
  if (v === undefined || v === '') {
    if (key === 'tun_dst' || key.endsWith('_spa') || key.endsWith('_tpa') || key === 'nw_src' || key === 'nw_dst')
      return '0.0.0.0';
    if (key === 'ct_state') return '';
    if (key.endsWith('_sha') || key.endsWith('_tha') || key.startsWith('dl_')) return '00:00:00:00:00:00';
    return '0';
  }
  if (key === 'ct_state') return v.split('|').sort().join('|');
  if (/^(0x[0-9a-f]+|\d+)$/i.test(v)) return String(Number(v));
  return v.toLowerCase();
}

function pickFields(flow: string, skipNat: boolean): Record<string, string> {
  const f = flowFields(flow);
  const out: Record<string, string> = {};
  for (const k of COMPARED_FIELDS) if (!(skipNat && NAT_FIELDS.has(k))) out[k] = normalize(k, f.get(k));
  return out;
}

function ctToken(t: string): string | undefined {
  if (t === 'ct' || t.startsWith('ct(')) return t;
  if (t.startsWith('recirc(')) return 'recirc';
  return undefined;
}

/** packetwalk's passes (from its trace) as decisions; outputs to port 1 carry the pass's tun_id/tun_dst. */
export function packetwalkDecisions(passes: readonly BridgePass[]): PassDecision[] {
  let afterNat = false;
  return passes.map((p) => {
    const flow = p.finalFlow === 'unchanged' ? p.flow : p.finalFlow;
    const f = flowFields(flow);
    const actions: string[] = [];
    for (const t of p.datapathActions === 'drop' ? [] : splitTop(p.datapathActions)) {
      const ct = ctToken(t);
      if (ct) actions.push(ct);
      else if (t === '1')
        actions.push(`vxlan:vni=${hex(Number(f.get('tun_id') ?? 0))},dst=${f.get('tun_dst') ?? '0.0.0.0'}`);
      else if (/^\d+$/.test(t)) actions.push(`output:${t}`);
      else actions.push(`?${t}`);
    }
    const d = { actions, fields: pickFields(flow, afterNat) };
    if (actions.some((a) => a.startsWith('ct(') && a.includes('nat'))) afterNat = true;
    return d;
  });
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Raw passes of an ofproto/trace text: each section's Flow, Final flow and Datapath actions lines. */
export function ovsPasses(text: string): BridgePass[] {
  const passes: BridgePass[] = [];
  let flow = '',
    finalFlow = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('Flow: ')) flow = line.slice(6).trim();
    else if (line.startsWith('Final flow: ')) finalFlow = line.slice(12).trim();
    else if (line.startsWith('Datapath actions: '))
      passes.push({ flow, finalFlow, datapathActions: line.slice(18).trim() });
  }
  return passes;
}

/**
 * OVS's passes as decisions. Datapath port numbers are mapped back to br0 ofports; a native tunnel push
 * (`tnl_push(...header(...ipv4(src=..,dst=..)...vxlan(flags=..,vni=0x..))...)`) becomes the tunnel output, and
 * the underlay bridge's own output after it is dropped. `set(...)` actions are not listed: their effect is in
 * the final flow, which is compared field by field.
 */
export function ovsDecisions(text: string, dpToOfport: ReadonlyMap<number, number>): PassDecision[] {
  let afterNat = false;
  return ovsPasses(text).map((p) => {
    const flow = p.finalFlow === 'unchanged' ? p.flow : p.finalFlow;
    const actions: string[] = [];
    const set = new Map<string, string>();
    let skipNext = false;
    for (const t of p.datapathActions === 'drop' ? [] : splitTop(p.datapathActions)) {
      const ct = ctToken(t);
      if (ct) actions.push(ct);
      else if (t.startsWith('tnl_push(')) {
        const dst = /ipv4\(src=[\d.]+,dst=([\d.]+)/.exec(t)?.[1] ?? '?';
        const vni = /vxlan\(flags=0x[0-9a-f]+,vni=(0x[0-9a-f]+)\)/.exec(t)?.[1] ?? '?';
        actions.push(`vxlan:vni=${hex(Number(vni))},dst=${dst}`);
        set.set('tun_dst', dst);
        skipNext = true;
        continue;
      } else if (/^\d+$/.test(t)) {
        if (skipNext) {
          skipNext = false;
          continue;
        }
        const of = dpToOfport.get(+t);
        actions.push(of === undefined ? `?dp${t}` : `output:${of}`);
      } else if (t.startsWith('set(') || t.startsWith('masked_set(')) readSet(t, set);
      else actions.push(`?${t}`);
      skipNext = false;
    }
    // OVS rolls the flow back after a group bucket (as if the bucket ran on a clone), so what a bucket set shows
    // only in the datapath actions; overlay those values on the final flow.
    let shown = flow;
    for (const [k, v] of set) shown += `,${k}=${v}`;
    const d = { actions, fields: pickFields(shown, afterNat) };
    if (actions.some((a) => a.startsWith('ct(') && a.includes('nat'))) afterNat = true;
    return d;
  });
}

/** Datapath `set(...)` action -> the flow fields it writes (masks dropped). */
const SET_FIELDS: Record<string, Record<string, string>> = {
  eth: { src: 'dl_src', dst: 'dl_dst' },
  ipv4: { src: 'nw_src', dst: 'nw_dst', tos: 'nw_tos', ttl: 'nw_ttl' },
  tcp: { src: 'tp_src', dst: 'tp_dst' },
  udp: { src: 'tp_src', dst: 'tp_dst' },
  tunnel: { dst: 'tun_dst' },
};

function readSet(t: string, out: Map<string, string>): void {
  const m = /^(?:masked_)?set\((\w+)\((.*)\)\)$/.exec(t);
  if (!m) return;
  const [, kind, body] = m;
  if (kind === 'skb_mark') {
    out.set('pkt_mark', body!.split('/')[0]!);
    return;
  }
  const names = SET_FIELDS[kind!];
  if (!names) return;
  for (const kv of splitTop(body!)) {
    const i = kv.indexOf('=');
    const name = names[kv.slice(0, i)];
    if (name) out.set(name, kv.slice(i + 1).split('/')[0]!);
  }
}
