/**
 * iptables, actual against expected, per table and chain, rules compared as iptables-save prints them (without
 * counters). What varies legitimately between kube-proxy runs is not reported: hashed chain names
 * (KUBE-SVC/SEP/FW/XLB/EXT-<hash>) are compared by what they stand for (the service port of their comment, and
 * for KUBE-SEP the endpoint address), and `-m statistic --probability` values are left out (they depend on the
 * endpoint count and order). Rules are compared as a multiset per chain (rule order is not checked).
 */

import { ipv4ToString } from '../../codecs/bytes.js';
import { ruleText } from '../netfilter/iptables-save.js';
import type { Rule, Ruleset, TableName } from '../netfilter/rules.js';
import type { Difference } from './difference.js';
import type { Terms } from './terms.js';

const HASHED = /^KUBE-(SVC|SEP|FW|XLB|EXT|SVL)-[A-Z0-9]{16}$/;

interface CanonChain {
  table: TableName;
  /** Canonical name (stable across kube-proxy runs). */
  canon: string;
  /** Name on this node. */
  name: string;
  rules: Map<string, { text: string; rule: Rule }[]>;
  /** KUBE-SEP: service port comment and endpoint. */
  service?: string;
  endpoint?: string;
}

function commentOf(r: Rule): string | undefined {
  for (const m of r.matches) if (m.kind === 'comment') return m.comment;
  return undefined;
}

/** Canonical names of hashed chains, per table. */
function canonNames(rs: Ruleset): Map<string, { canon: string; service?: string; endpoint?: string }> {
  const out = new Map<string, { canon: string; service?: string; endpoint?: string }>();
  for (const [tname, t] of rs.tables) {
    for (const [name, c] of t.chains) {
      if (!HASHED.test(name)) continue;
      const kind = name.slice(0, name.lastIndexOf('-'));
      const comment = c.rules
        .map(commentOf)
        .find((x) => x !== undefined)
        ?.replace(/ -> .*$/, '');
      let endpoint: string | undefined;
      if (kind === 'KUBE-SEP') {
        const dnat = c.rules.find((r) => r.target?.kind === 'DNAT');
        const masq = c.rules.find((r) => r.src && r.src.prefix === 32);
        if (dnat?.target?.kind === 'DNAT') endpoint = ipv4ToString(dnat.target.ip);
        else if (masq?.src) endpoint = ipv4ToString(masq.src.network);
      }
      const canon = comment === undefined ? name : `${kind}[${comment}${endpoint ? ` @ ${endpoint}` : ''}]`;
      out.set(`${tname} ${name}`, { canon, service: comment, endpoint });
    }
  }
  return out;
}

export type CanonRuleset = Map<string, CanonChain>;

/** The chains of a ruleset under their canonical names, rules as canonical text (see the file comment). */
export function canonicalize(rs: Ruleset): CanonRuleset {
  const names = canonNames(rs);
  const rename = (table: string, chain: string) => names.get(`${table} ${chain}`)?.canon ?? chain;
  const out = new Map<string, CanonChain>();
  for (const [tname, t] of rs.tables) {
    for (const [name, c] of t.chains) {
      const info = names.get(`${tname} ${name}`);
      const canon = info?.canon ?? name;
      const cc: CanonChain = {
        table: tname,
        canon,
        name,
        rules: new Map(),
        service: info?.service,
        endpoint: info?.endpoint,
      };
      for (const r of c.rules) {
        let text = ruleText(canon, r).replace(/ -m statistic --mode random --probability [0-9.]+/, '');
        text = text.replace(
          /(-[jg]) (KUBE-(?:SVC|SEP|FW|XLB|EXT|SVL)-[A-Z0-9]{16})\b/g,
          (_, j: string, ch: string) => `${j} ${rename(tname, ch)}`,
        );
        const l = cc.rules.get(text) ?? [];
        l.push({ text: ruleText(name, r), rule: r });
        cc.rules.set(text, l);
      }
      out.set(`${tname} ${canon}`, cc);
    }
  }
  return out;
}

/** Two canonical rulesets as one (a node's openshift-sdn rules plus the cluster-wide kube-proxy rules). */
export function mergeCanonical(x: CanonRuleset, y: CanonRuleset): CanonRuleset {
  const out: CanonRuleset = new Map(x);
  for (const [k, c] of y) {
    const have = out.get(k);
    if (!have) {
      out.set(k, c);
      continue;
    }
    const rules = new Map(have.rules);
    for (const [t, l] of c.rules) rules.set(t, [...(rules.get(t) ?? []), ...l]);
    out.set(k, { ...have, rules });
  }
  return out;
}

export function compareIptables(
  node: string,
  actual: Ruleset | CanonRuleset,
  expected: Ruleset | CanonRuleset,
  terms: Terms,
): { differences: Difference[]; renamed: number } {
  const a = actual instanceof Map ? actual : canonicalize(actual);
  const e = expected instanceof Map ? expected : canonicalize(expected);
  const out: Difference[] = [];
  let renamed = 0;
  for (const [k, ec] of e) {
    const ac = a.get(k);
    if (ac && ac.name !== ec.name) renamed++;
    for (const [text, erules] of ec.rules) {
      const have = ac?.rules.get(text)?.length ?? 0;
      for (let i = have; i < erules.length; i++)
        out.push(explainRule(node, 'missing', ec, ac, erules[i]!.rule, erules[i]!.text, terms));
    }
  }
  for (const [k, ac] of a) {
    const ec = e.get(k);
    for (const [text, arules] of ac.rules) {
      const want = ec?.rules.get(text)?.length ?? 0;
      for (let i = want; i < arules.length; i++)
        out.push(explainRule(node, 'extra', ec, ac, arules[i]!.rule, arules[i]!.text, terms));
    }
  }
  return { differences: out, renamed };
}

function serviceOf(comment: string | undefined): string | undefined {
  const m = comment ? /^([^/\s]+\/[^:\s]+)/.exec(comment) : null;
  return m?.[1];
}

function explainRule(
  node: string,
  kind: 'missing' | 'extra',
  ec: CanonChain | undefined,
  ac: CanonChain | undefined,
  r: Rule,
  text: string,
  terms: Terms,
): Difference {
  const c = (ac ?? ec)!;
  const chainName = ac?.name ?? ec!.name;
  const where = `${c.table} ${chainName}`;
  const svcPort = c.service ?? commentOf(r)?.replace(/ cluster IP$| -> .*$/, '');
  const svc = serviceOf(svcPort);
  const subjects = [node, ...(svc ? [svc] : []), ...(c.endpoint ? [c.endpoint] : [])];
  const t = r.target;
  let message: string;
  if (kind === 'missing' && t?.kind === 'DNAT') {
    const ep = `${ipv4ToString(t.ip)}${t.portMin ? `:${t.portMin}` : ''}`;
    message = `${node}: ${chainName} DNAT for endpoint ${ep} of service ${svcPort ?? '?'} is missing: connections to the service that kube-proxy sends to this endpoint are not translated and fail`;
    subjects.push(ipv4ToString(t.ip));
  } else if (kind === 'extra' && c.canon.startsWith('KUBE-SEP[') && !ec && c.endpoint) {
    const real = terms.cluster.endpoints.find((x) => `${x.namespace}/${x.name}` === svc);
    const list = real ? real.addresses.map((x) => ipv4ToString(x.ip)).join(', ') || 'none' : 'no Endpoints object';
    message = `${node}: ${chainName} sends service ${svcPort ?? '?'} to ${c.endpoint}, which is not an endpoint of the service (its Endpoints: ${list}): connections kube-proxy sends there fail`;
    if (t?.kind !== 'DNAT')
      message = `${node}: ${where}: unexpected rule for a stale endpoint ${c.endpoint} of ${svcPort ?? '?'} (${text})`;
  } else if (
    kind === 'extra' &&
    /^KUBE-SVC\[/.test(c.canon) &&
    r.target?.kind === 'jump' &&
    /^KUBE-SEP-/.test(r.target.chain)
  ) {
    message = `${node}: ${where}: service ${svcPort ?? '?'} balances over an endpoint chain ${r.target.chain} that OpenShift SDN's kube-proxy would not write (stale endpoint?)`;
  } else if (kind === 'missing' && c.table === 'nat' && chainName.startsWith('OPENSHIFT-MASQUERADE')) {
    message = `${node}: nat ${chainName}: rule \`${text}\` is missing: pod traffic leaving the cluster ${/MASQUERADE|OPENSHIFT-MASQUERADE-2/.test(text) ? 'is not masqueraded to the node IP and its replies never come back' : 'is not translated as OpenShift SDN would'}`;
  } else if (kind === 'missing' && c.canon.startsWith('KUBE-SEP[') && !ac) {
    message = `${node}: no ${ec!.name} for endpoint ${c.endpoint ?? '?'} of service ${svcPort ?? '?'}: rule \`${text}\` is missing`;
  } else {
    message = `${node}: ${where}: ${kind === 'missing' ? 'missing rule' : 'unexpected rule'} \`${text}\`${svcPort ? ` (service ${svcPort})` : ''}`;
  }
  return {
    node,
    area: 'iptables',
    kind,
    message,
    chain: where,
    ...(kind === 'missing' ? { expected: text } : { actual: text }),
    subjects,
  };
}
