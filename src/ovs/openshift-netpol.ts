/**
 * NetworkPolicy (redhat/openshift-ovs-networkpolicy) compiled to br0 flows the way openshift-sdn's
 * networkpolicy.go does: ingress rules in table 80 on reg1 (destination VNID), egress rules in table 27 on reg0
 * (source VNID).
 *
 * Per policy, every rule expands to target x peer x port flows at priority 150:
 *   target: `ip,nw_dst=<selected pod>` (ingress) / `ip,nw_src=<selected pod>` (egress), nothing if the policy selects
 *           every pod of its namespace;
 *   peer:   ingress podSelector {} -> `reg0=<own VNID>`; podSelector -> `nw_src=<pod>`; namespaceSelector ->
 *           `reg0=<VNID>` per namespace (egress: `nw_dst=<pod>` for every pod of those namespaces, since the
 *           destination VNID is not known yet in table 27); both selectors -> per pod; ipBlock -> one flow per CIDR
 *           of `cidr` minus `except`; no peers -> nothing; namespaceSelector {} -> nothing (all namespaces);
 *   port:   `tcp,tp_dst=80` / `udp,...`; no ports -> nothing.
 * Then per namespace and direction: no policy of that direction -> `priority=50,reg=V` allow; some policy selects
 * every pod -> nothing more (the table's priority-0 drop isolates them); otherwise `priority=100` drops for each
 * selected pod IP, then the priority-50 allow.
 *
 * Flows exist only for VNIDs in use by a pod on this node (EnsureVNIDRules). Selected and peer pods come from the
 * whole cluster. Simplifications, each said where it happens: label selectors are matchLabels only; namespaces carry
 * only the automatic `kubernetes.io/metadata.name` label unless the model gives them more; the transient
 * priority-500 isolation flows SDN adds while a new pod's policies are computed (cookie NetPolIsolationCookie) are
 * not generated, as they are gone once the node has settled.
 */

import { type Ipv4Address, type Ipv4Cidr, prefixMask } from '../../codecs/bytes.js';
import type { NetNamespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyRule } from '../cluster/types.js';
import { netNamespacesByVnid, type SdnNodeContext } from './openshift-context.js';
import { type FlowSpec, type MatchSpec, mergeMatches } from './openshift-flow-text.js';

/** networkpolicy.go HostNetworkNamespace: selected as VNID 0, so host-network traffic (reg0 = 0) matches it. */
export const HOST_NETWORK_NAMESPACE = 'openshift-host-network';
/** skipIfTooManyFlows: a policy that would need this many flows is ignored. */
export const MAX_FLOWS_PER_POLICY = 10000;
/** Label every namespace carries (Kubernetes >= 1.21). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const OUTPUT_REG2 = 'output:NXM_NX_REG2[]';
const GOTO_30 = 'goto_table:30';

type Direction = 'ingress' | 'egress';

/** matchLabels semantics: every key present with the same value; an empty selector selects everything. */
export function selectorMatches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  for (const k of Object.keys(selector)) if (labels[k] !== selector[k]) return false;
  return true;
}

function isEmpty(selector: Record<string, string>): boolean {
  return Object.keys(selector).length === 0;
}

/**
 * Namespace labels. The cluster model has none yet beyond the name, so a NetNamespace object that happens to carry a
 * `labels` record (a later model) is honoured, and the automatic name label is always there.
 */
export function namespaceLabels(ns: NetNamespace): Record<string, string> {
  const extra = (ns as NetNamespace & { labels?: Record<string, string> }).labels ?? {};
  return { ...extra, [NAMESPACE_NAME_LABEL]: ns.name };
}

/** ranges.IPBlockToCIDRs: `cidr` minus every `except`, as the fewest CIDRs, lowest address first. */
export function cidrMinus(cidr: Ipv4Cidr, except: readonly Ipv4Cidr[]): Ipv4Cidr[] {
  const out: Ipv4Cidr[] = [];
  const overlaps = (a: Ipv4Cidr, b: Ipv4Cidr): boolean => {
    const m = a.prefix < b.prefix ? a.mask : b.mask;
    return (a.network & m) >>> 0 === (b.network & m) >>> 0;
  };
  const walk = (c: Ipv4Cidr): void => {
    const hits = except.filter((e) => overlaps(c, e));
    if (hits.length === 0) return void out.push(c);
    if (hits.some((e) => e.prefix <= c.prefix)) return; // fully excluded
    const prefix = c.prefix + 1;
    const mask = prefixMask(prefix);
    walk({ network: c.network, prefix, mask });
    walk({ network: (c.network | (1 << (32 - prefix))) >>> 0, prefix, mask });
  };
  walk(cidr);
  return out;
}

/** policyTypes as the API server defaults them: Ingress, plus Egress when the policy has egress rules. */
function policyTypes(p: NetworkPolicy): { ingress: boolean; egress: boolean } {
  const types = p.policyTypes.length > 0 ? p.policyTypes : p.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
}

interface CompiledPolicy {
  matches: MatchSpec[];
  selectedIPs: Ipv4Address[];
  selectsAll: boolean;
}

class PolicyCompiler {
  /** The namespace SDN tracks per VNID (np.namespaces is keyed by VNID: the last one added wins). */
  private readonly tracked: NetNamespace[];

  constructor(private readonly ctx: SdnNodeContext) {
    this.tracked = [...netNamespacesByVnid(ctx.cluster).values()];
  }

  /** Pod IPs on the pod network of a namespace matching a selector, cluster order (selectPods). */
  podIPs(namespace: string, selector: Record<string, string>): Ipv4Address[] {
    return this.ctx.cluster.pods
      .filter((p) => p.namespace === namespace && !p.hostNetwork && selectorMatches(selector, p.labels))
      .map((p) => p.ip);
  }

  /** selectNamespacesInternal: name -> VNID of the tracked namespaces a selector matches. */
  namespaces(selector: Record<string, string>): { name: string; vnid: number }[] {
    return this.tracked
      .filter((ns) => selectorMatches(selector, namespaceLabels(ns)))
      .map((ns) => ({ name: ns.name, vnid: ns.name === HOST_NETWORK_NAMESPACE ? 0 : ns.netid }));
  }

  private podMatch(dir: Direction, ip: Ipv4Address): MatchSpec {
    return dir === 'ingress' ? { proto: 'ip', nwSrc: ip } : { proto: 'ip', nwDst: ip };
  }

  /** Pods on the pod network of the namespaces a selector picks (selectPodsFromNamespaces). */
  private podsOfNamespaces(nsSelector: Record<string, string>, podSelector: Record<string, string>): Ipv4Address[] {
    return this.namespaces(nsSelector).flatMap((n) => this.podIPs(n.name, podSelector));
  }

  /** parsePeerFlows. */
  peers(ns: NetNamespace, peers: readonly NetworkPolicyPeer[], dir: Direction): MatchSpec[] {
    if (peers.length === 0) return [{}];
    const out: MatchSpec[] = [];
    const pods = (ips: Ipv4Address[]): void => {
      for (const ip of ips) out.push(this.podMatch(dir, ip));
    };
    for (const peer of peers) {
      const { podSelector, namespaceSelector, ipBlock } = peer;
      if (podSelector && !namespaceSelector) {
        if (dir === 'ingress' && isEmpty(podSelector)) out.push({ reg0: ns.netid });
        else pods(this.podIPs(ns.name, podSelector));
      } else if (namespaceSelector && !podSelector) {
        if (isEmpty(namespaceSelector)) out.push({});
        else if (dir === 'ingress') for (const n of this.namespaces(namespaceSelector)) out.push({ reg0: n.vnid });
        else pods(this.podsOfNamespaces(namespaceSelector, {}));
      } else if (namespaceSelector && podSelector) {
        pods(this.podsOfNamespaces(namespaceSelector, podSelector));
      } else if (ipBlock) {
        for (const c of cidrMinus(ipBlock.cidr, ipBlock.except)) {
          out.push(dir === 'ingress' ? { proto: 'ip', nwSrc: c } : { proto: 'ip', nwDst: c });
        }
      }
    }
    return out;
  }

  /** parsePortFlows (the model has numeric TCP/UDP ports only: no SCTP, named ports or endPort). */
  ports(rule: NetworkPolicyRule): MatchSpec[] {
    if (rule.ports.length === 0) return [{}];
    return rule.ports.map((p) => ({ proto: p.protocol === 'UDP' ? 'udp' : 'tcp', tpDst: p.port }));
  }

  /** parseNetworkPolicy: the allow matches of one direction plus which pod IPs the policy isolates. */
  compile(ns: NetNamespace, policy: NetworkPolicy, dir: Direction): CompiledPolicy {
    const selectsAll = isEmpty(policy.podSelector);
    const selectedIPs = selectsAll ? [] : this.podIPs(ns.name, policy.podSelector);
    const targets: MatchSpec[] = selectsAll
      ? [{}]
      : selectedIPs.map((ip) => (dir === 'ingress' ? { proto: 'ip', nwDst: ip } : { proto: 'ip', nwSrc: ip }));
    const base: MatchSpec = dir === 'ingress' ? { reg1: ns.netid } : { reg0: ns.netid };
    const matches: MatchSpec[] = [];
    for (const rule of dir === 'ingress' ? policy.ingress : policy.egress) {
      const peers = this.peers(ns, rule.peers, dir);
      const ports = this.ports(rule);
      for (const t of targets)
        for (const p of peers) for (const port of ports) matches.push(mergeMatches(base, t, p, port));
    }
    return { matches, selectedIPs, selectsAll };
  }
}

/** Flows one namespace's policies produce in one direction (generateNamespaceIngressFlows / ...EgressFlows). */
function namespaceFlows(c: PolicyCompiler, ns: NetNamespace, policies: NetworkPolicy[], dir: Direction): FlowSpec[] {
  const table = dir === 'ingress' ? 80 : 27;
  const allow = dir === 'ingress' ? OUTPUT_REG2 : GOTO_30;
  const reg: MatchSpec = dir === 'ingress' ? { reg1: ns.netid } : { reg0: ns.netid };
  const flows: FlowSpec[] = [];
  let has = false;
  let allIsolated = false;
  const selected: Ipv4Address[] = [];
  for (const policy of policies) {
    const types = policyTypes(policy);
    if (!(dir === 'ingress' ? types.ingress : types.egress)) continue;
    has = true;
    const compiled = c.compile(ns, policy, dir);
    // Both directions count towards the size limit in SDN; one direction is a close enough stand-in here.
    const matches = compiled.matches.length >= MAX_FLOWS_PER_POLICY ? [] : compiled.matches;
    if (compiled.selectsAll) allIsolated = true;
    for (const m of matches) flows.push({ table, priority: 150, match: m, actions: allow });
    for (const ip of compiled.selectedIPs) if (!selected.includes(ip)) selected.push(ip);
  }
  if (allIsolated) return flows;
  if (has) {
    for (const ip of selected) {
      const pod: MatchSpec = dir === 'ingress' ? { proto: 'ip', nwDst: ip } : { proto: 'ip', nwSrc: ip };
      flows.push({ table, priority: 100, match: mergeMatches(reg, pod), actions: 'drop' });
    }
  }
  flows.push({ table, priority: 50, match: reg, actions: allow });
  return flows;
}

/** Every networkpolicy-mode flow in tables 27, 30 and 80 besides the defaults SetupOVS adds. */
export function networkPolicyFlows(ctx: SdnNodeContext): FlowSpec[] {
  const flows: FlowSpec[] = [
    // Start(): egress policy for service traffic is applied after DNAT, when it comes back through table 25.
    { table: 27, priority: 300, match: { proto: 'ip', nwDst: ctx.serviceCidr }, actions: GOTO_30 },
    // Replies skip policy in both directions.
    { table: 80, priority: 200, match: { ctState: '+rpl', proto: 'ip' }, actions: OUTPUT_REG2 },
    { table: 27, priority: 200, match: { ctState: '+rpl', proto: 'ip' }, actions: GOTO_30 },
    // Commit pod-network-internal connections so their replies are +rpl.
    {
      table: 30,
      priority: 100,
      match: { ctState: '-rpl', proto: 'ip', nwSrc: ctx.clusterCidr, nwDst: ctx.clusterCidr },
      actions: 'ct(commit,table=31)',
    },
  ];
  const compiler = new PolicyCompiler(ctx);
  const inUse = [...new Set(ctx.localPods.map((p) => p.vnid))].sort((a, b) => a - b);
  const byVnid = netNamespacesByVnid(ctx.cluster);
  for (const vnid of inUse) {
    const ns = byVnid.get(vnid);
    if (!ns) continue;
    const policies = ctx.cluster.networkPolicies.filter((p) => p.namespace === ns.name);
    flows.push(...namespaceFlows(compiler, ns, policies, 'ingress'));
    flows.push(...namespaceFlows(compiler, ns, policies, 'egress'));
  }
  return flows;
}
