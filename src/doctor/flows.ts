/**
 * br0 flows and groups, actual against expected: flows are matched by table, priority and match (OVS's own
 * identity of a flow); cookies, counters, durations and ages are not compared. Each difference gets an
 * explanation in the cluster's terms by table (the table layout of openshift/sdn `ovscontroller.go`), and a
 * missing flow names the flow a packet falls to instead (the next lower priority flow of the table that covers
 * the missing flow's match).
 */

import { formatActions } from '../ovs/actions.js';
import type { FlowSpec } from '../ovs/flow-text.js';
import { formatGroup, type GroupSpec } from '../ovs/groups.js';
import type { Difference } from './difference.js';
import { actionValues, ipOf, matchFields, type Terms } from './terms.js';

interface Keyed {
  spec: FlowSpec;
  match: string;
  actions: string;
}

/**
 * Flows with their match and actions as text, kept by the caller across comparisons: the flows a run shares
 * between nodes (CompareCache.expectedFlow, parseDumpFlows with a cache) are then formatted once, not per node.
 */
export type FlowTexts = WeakMap<FlowSpec, Keyed>;

function keyed(f: FlowSpec, texts: FlowTexts | undefined): Keyed {
  let k = texts?.get(f);
  if (!k) {
    k = { spec: f, match: f.match.format(), actions: formatActions(f.actions) };
    texts?.set(f, k);
  }
  return k;
}

function key(k: Keyed): string {
  return `${k.spec.table}|${k.spec.priority}|${k.match}`;
}

export interface FlowComparison {
  differences: Difference[];
  /** Flows that differ only in cookie (legitimate: cookies are hashes of object UIDs). */
  cookieOnly: number;
}

export function compareFlows(
  node: string,
  actual: readonly FlowSpec[],
  expected: readonly FlowSpec[],
  terms: Terms,
  texts?: FlowTexts,
): FlowComparison {
  const a = new Map<string, Keyed>();
  for (const f of actual) {
    const k = keyed(f, texts);
    a.set(key(k), k);
  }
  const e = new Map<string, Keyed>();
  for (const f of expected) {
    const k = keyed(f, texts);
    e.set(key(k), k);
  }
  const byTable = new Map<number, Keyed[]>();
  for (const k of a.values()) {
    const l = byTable.get(k.spec.table) ?? [];
    l.push(k);
    byTable.set(k.spec.table, l);
  }
  for (const l of byTable.values()) l.sort((x, y) => y.spec.priority - x.spec.priority);
  const out: Difference[] = [];
  let cookieOnly = 0;
  for (const [k, ex] of e) {
    const ac = a.get(k);
    if (!ac) out.push(explainMissing(node, ex, fallTo(ex, byTable.get(ex.spec.table) ?? []), terms));
    else if (ac.actions !== ex.actions) out.push(explainDifferent(node, ac, ex, terms));
    else if (ac.spec.cookie !== ex.spec.cookie) cookieOnly++;
  }
  for (const [k, ac] of a) if (!e.has(k)) out.push(explainExtra(node, ac, terms));
  return { differences: out, cookieOnly };
}

/** The flow a packet that should have hit `missing` hits instead: the highest lower-priority flow covering it. */
function fallTo(missing: Keyed, table: readonly Keyed[]): Keyed | undefined {
  for (const f of table)
    if (f.spec.priority < missing.spec.priority && missing.spec.match.refines(f.spec.match)) return f;
  return undefined;
}

function flowText(k: Keyed): string {
  return `table=${k.spec.table}, priority=${k.spec.priority}${k.match ? `,${k.match}` : ''} actions=${k.actions}`;
}

/** `is dropped at table 90 priority 0` / `falls to table 31 priority 0 (goto_table:99)` / `matches no flow`. */
function fallText(f: Keyed | undefined, table: number): string {
  if (!f) return `matches no flow in table ${table} and is dropped`;
  if (f.spec.actions.length === 0) return `is dropped at table ${f.spec.table} priority ${f.spec.priority}`;
  return `falls to table ${f.spec.table} priority ${f.spec.priority} (${f.actions})`;
}

/** What a table's flow is about, in cluster terms, plus its subjects. */
function about(k: Keyed, terms: Terms): { what: string; subjects: string[]; effect?: string } {
  const m = matchFields(k.match);
  const t = k.spec.table;
  const dst = m.get('nw_dst') ?? m.get('arp_tpa');
  const src = m.get('nw_src') ?? m.get('arp_spa');
  const subnetNode = (c: string | undefined) => (c ? terms.nodeBySubnet(c.includes('/') ? c : `${c}/32`) : undefined);
  if ((t === 90 || t === 50) && dst) {
    const h = subnetNode(dst);
    const what = `${dst}${h ? ` (${terms.nodeText(h)})` : ' (no HostSubnet has this subnet)'}`;
    return {
      what,
      subjects: [dst, ...(h ? [h.name] : [])],
      effect: h
        ? t === 90
          ? `traffic from NODE's pods to ${h.name}'s pods`
          : `ARP from NODE's pods for ${h.name}'s pods (so they never resolve)`
        : undefined,
    };
  }
  if (t === 10 && m.has('tun_src')) {
    const ip = m.get('tun_src')!;
    const h = terms.nodeByIp(ipOf(ip));
    return {
      what: `tun_src=${ip}${h ? ` (${terms.nodeText(h)})` : ' (no HostSubnet has this hostIP)'}`,
      subjects: [ip, ...(h ? [h.name] : [])],
      effect: h ? `VXLAN traffic from ${h.name} (its pods and its tun0)` : undefined,
    };
  }
  if ((t === 20 || t === 25 || t === 40) && src && !src.includes('/')) {
    const p = terms.pod(ipOf(src));
    return {
      what: terms.podText(src),
      subjects: [src, ...(p ? [`${p.namespace}/${p.name}`, p.namespace] : [])],
      effect: `everything ${p ? `${p.namespace}/${p.name}` : src} sends`,
    };
  }
  if ((t === 70 || t === 40) && dst && !dst.includes('/')) {
    const p = terms.pod(ipOf(dst));
    return {
      what: terms.podText(dst),
      subjects: [dst, ...(p ? [`${p.namespace}/${p.name}`, p.namespace] : [])],
      effect: `traffic to ${p ? `${p.namespace}/${p.name}` : dst}`,
    };
  }
  for (const r of ['reg0', 'reg1']) {
    const v = m.get(r);
    if (v !== undefined && (t === 27 || t === 80 || t === 100 || t === 101 || t === 110 || t === 120)) {
      const vnid = Number(v);
      const ns = terms.vnidText(vnid);
      const purpose =
        t === 80
          ? 'NetworkPolicy (ingress) of'
          : t === 27
            ? 'NetworkPolicy (egress) of'
            : t === 100
              ? 'EgressNetworkPolicy of'
              : t === 101
                ? 'egress IPs of'
                : 'multicast of';
      return {
        what: `${purpose} ${ns}${dst ? `, ${terms.podText(dst)}` : ''}${src ? `, from ${terms.podText(src)}` : ''}`,
        subjects: [ns.replace(/^NetNamespaces? /, ''), ...(dst ? [dst] : []), ...(src ? [src] : [])],
      };
    }
  }
  return { what: k.match || '(all packets)', subjects: [...(dst ? [dst] : []), ...(src ? [src] : [])] };
}

function explainMissing(node: string, ex: Keyed, fall: Keyed | undefined, terms: Terms): Difference {
  const ab = about(ex, terms);
  const effect = ab.effect
    ? `${ab.effect.replace('NODE', node)} ${fallText(fall, ex.spec.table)}`
    : `packets it should take ${fallText(fall, ex.spec.table)}`;
  return {
    node,
    area: 'flow',
    kind: 'missing',
    message: `${node}: no table ${ex.spec.table} flow for ${ab.what}: ${effect}`,
    table: fall ? fall.spec.table : ex.spec.table,
    priority: fall ? fall.spec.priority : undefined,
    expected: flowText(ex),
    subjects: ab.subjects,
  };
}

function explainExtra(node: string, ac: Keyed, terms: Terms): Difference {
  const ab = about(ac, terms);
  const v = actionValues(ac.actions);
  let why = 'OpenShift SDN would not program it';
  const m = matchFields(ac.match);
  if (
    (ac.spec.table === 20 || ac.spec.table === 25) &&
    !terms.pod(ipOf(m.get('nw_src') ?? m.get('arp_spa') ?? '0.0.0.0'))
  )
    why = 'no pod has that address (left over from a deleted pod?)';
  if (ac.spec.table === 70 && !terms.pod(ipOf(m.get('nw_dst') ?? '0.0.0.0')))
    why = 'no pod has that address (left over from a deleted pod?)';
  if ((ac.spec.table === 90 || ac.spec.table === 50) && v.has('tun_dst'))
    why = `it sends to ${terms.tunDstText(v.get('tun_dst')!)}${ab.what.includes('no HostSubnet') ? ' (left over from a deleted node?)' : ''}`;
  if (ac.spec.table === 10)
    why = ab.what.includes('no HostSubnet') ? 'VXLAN from an address that is no node is accepted' : why;
  return {
    node,
    area: 'flow',
    kind: 'extra',
    message: `${node}: unexpected table ${ac.spec.table} priority ${ac.spec.priority} flow for ${ab.what}: ${why}`,
    table: ac.spec.table,
    priority: ac.spec.priority,
    actual: flowText(ac),
    subjects: ab.subjects,
  };
}

function explainDifferent(node: string, ac: Keyed, ex: Keyed, terms: Terms): Difference {
  const ab = about(ex, terms);
  const va = actionValues(ac.actions),
    ve = actionValues(ex.actions);
  const t = ex.spec.table;
  let message = `${node}: table ${t} priority ${ex.spec.priority} flow for ${ab.what} has actions ${ac.actions}, expected ${ex.actions}`;
  if (va.get('tun_dst') !== ve.get('tun_dst') && ve.has('tun_dst')) {
    const h = terms.nodeByIp(ipOf(ve.get('tun_dst')!));
    message = `${node}: table ${t} sends ${ab.what.replace(/ \(.*$/, '')} to ${va.has('tun_dst') ? terms.tunDstText(va.get('tun_dst')!) : 'no tunnel destination'}, but ${h ? `${h.name}'s hostIP is ${ve.get('tun_dst')}` : `the HostSubnet's hostIP is ${ve.get('tun_dst')}`} (stale hostIP): ${t === 90 ? 'traffic' : 'ARP'} for ${h ? `${h.name}'s` : 'those'} pods goes to the wrong place`;
  } else if (va.get('reg0') !== ve.get('reg0') && ve.has('reg0') && (t === 20 || t === 25)) {
    const p = terms.pod(ipOf(matchFields(ex.match).get('nw_src') ?? matchFields(ex.match).get('arp_spa') ?? '0.0.0.0'));
    message = `${node}: table ${t} gives ${ab.what} VNID ${va.get('reg0') ?? '(none)'}, but ${p ? `NetNamespace ${p.namespace}` : terms.vnidText(Number(ve.get('reg0')))} has VNID ${ve.get('reg0')}: its traffic carries the wrong VNID`;
  } else if (va.get('reg1') !== ve.get('reg1') && ve.has('reg1') && t === 70) {
    const p = terms.pod(ipOf(matchFields(ex.match).get('nw_dst') ?? '0.0.0.0'));
    message = `${node}: table 70 gives ${ab.what} VNID ${va.get('reg1') ?? '(none)'}, but ${p ? `NetNamespace ${p.namespace}` : terms.vnidText(Number(ve.get('reg1')))} has VNID ${ve.get('reg1')}: traffic to it is judged by the wrong namespace's policy in table 80`;
  } else if (va.get('reg2') !== ve.get('reg2') && t === 70) {
    message = `${node}: table 70 delivers ${ab.what} to port ${va.get('reg2')}, but the pod is on port ${ve.get('reg2')}`;
  }
  return {
    node,
    area: 'flow',
    kind: 'different',
    message,
    table: t,
    priority: ex.spec.priority,
    actual: flowText(ac),
    expected: flowText(ex),
    subjects: ab.subjects,
  };
}

/** Egress-IP groups (group id = VNID, SDN egressip.go): by id, then by bucket. */
export function compareGroups(
  node: string,
  actual: readonly GroupSpec[],
  expected: readonly GroupSpec[],
  terms: Terms,
): Difference[] {
  const out: Difference[] = [];
  const a = new Map(actual.map((g) => [g.id, g]));
  const e = new Map(expected.map((g) => [g.id, g]));
  const nsOf = (id: number) => terms.vnidText(id);
  const subj = (id: number) => [nsOf(id).replace(/^NetNamespaces? /, '')];
  for (const [id, ex] of e) {
    const ac = a.get(id);
    if (!ac) {
      out.push({
        node,
        area: 'group',
        kind: 'missing',
        message: `${node}: no group ${id} (egress IPs of ${nsOf(id)}): table 101 sends that namespace's external traffic to a group that does not exist, so it is dropped`,
        table: 101,
        expected: formatGroup(ex),
        subjects: subj(id),
      });
      continue;
    }
    const ab = ac.buckets.map((b) => formatActions(b.actions));
    const eb = ex.buckets.map((b) => formatActions(b.actions));
    for (const b of eb) {
      if (ab.includes(b)) continue;
      const v = actionValues(b);
      const dst = v.get('tun_dst');
      const where = dst
        ? `egress node ${terms.tunDstText(dst)}`
        : `this node (pkt_mark ${v.get('pkt_mark') ?? '?'} to tun0: the egress IP is local)`;
      out.push({
        node,
        area: 'group',
        kind: 'missing',
        message: `${node}: group ${id} (egress IPs of ${nsOf(id)}) has no bucket for ${where}: ${ab.length ? 'that egress IP is never used from this node' : "the namespace's external traffic is dropped"}`,
        table: 101,
        actual: formatGroup(ac),
        expected: formatGroup(ex),
        subjects: [...subj(id), ...(dst ? [dst] : [])],
      });
    }
    for (const b of ab) {
      if (eb.includes(b)) continue;
      const dst = actionValues(b).get('tun_dst');
      out.push({
        node,
        area: 'group',
        kind: 'extra',
        message: `${node}: group ${id} (egress IPs of ${nsOf(id)}) has an unexpected bucket ${b}${dst ? ` to ${terms.tunDstText(dst)}` : ''}: some of its external traffic leaves through a node that should not carry it`,
        table: 101,
        actual: formatGroup(ac),
        expected: formatGroup(ex),
        subjects: subj(id),
      });
    }
  }
  for (const [id, ac] of a)
    if (!e.has(id))
      out.push({
        node,
        area: 'group',
        kind: 'extra',
        message: `${node}: unexpected group ${id} (${nsOf(id)})`,
        table: 101,
        actual: formatGroup(ac),
        subjects: subj(id),
      });
  return out;
}
