/**
 * An Emulation of some of a state directory's nodes (the ones a set of walks touches), each node programmed from
 * the whole cluster: its own dumps when `actual` and it has them, else what OpenShift SDN would program for the
 * whole cluster (br0 flows and groups, openshift-sdn and kube-proxy rules). Building only the nodes a walk needs
 * keeps a 100-node cluster's walks from paying for every node's kernel, pods and 20 000 kube-proxy rules.
 *
 * The emulated cluster holds only those nodes and their pods and no Services (services live in the installed
 * rules, not in the emulation): a walk to a node left out finds nobody at its address. kube-proxy's rules are
 * built once and their rule objects shared by every node's netfilter (so are a shared dump's); rule counters then
 * count for all of them, which nothing that uses this reads.
 */

import type { Cluster } from '../cluster/types.js';
import { createFastPath } from '../fastpath/fast-path.js';
import { Emulation } from '../node/emulation.js';
import type { EmulatedNode } from '../node/emulated-node.js';
import { addKubeProxyRules } from '../netfilter/kube-proxy.js';
import { buildNodeRules } from '../netfilter/node-rules.js';
import { BUILTIN_CHAINS, emptyRuleset, type Chain, type Ruleset, type TableName } from '../netfilter/rules.js';
import { parseFlow } from '../ovs/flow-text.js';
import { generateNodeFlows } from '../ovs/openshift-flows.js';
import { applyNodeState } from './apply.js';
import { podPortsFromFlows } from './ports.js';
import type { StateDir } from './state-dir.js';

export interface PartialOptions {
  seed?: number;
  /** Program nodes from their dumps (true) or as OpenShift SDN would for the whole cluster (false). */
  actual: boolean;
  /** kube-proxy's rules for the cluster when the caller has them (else built here when a node needs them). */
  kubeProxy?: () => Ruleset;
}

/** The Emulation of `nodes` (HostSubnet names) of the state's cluster. */
export function partialEmulation(state: StateDir, nodes: ReadonlySet<string>, opts: PartialOptions): Emulation {
  const full = state.cluster;
  const sub: Cluster = {
    ...full,
    hostSubnets: full.hostSubnets.filter((h) => nodes.has(h.name)),
    pods: full.pods.filter((p) => nodes.has(p.node)),
    services: [],
  };
  const emu = new Emulation(sub, { seed: opts.seed ?? 1, fastPath: createFastPath });
  let kubeProxy: Ruleset | undefined;
  const kp = opts.kubeProxy ?? (() => (kubeProxy ??= kubeProxyRules(full)));
  for (const name of nodes) {
    const en = emu.node(name);
    const st = opts.actual && state.nodeDirs.includes(name) ? state.readNode(name) : undefined;
    if (st) applyNodeState(en, st, emu.runtime.clock.now);
    if (!st?.flows || !st.groups) installExpectedFlows(en, full, !st?.flows, !st?.groups);
    if (!st?.iptables) en.netfilter.load(expectedNodeRules(full, name, kp()));
  }
  return emu;
}

function installExpectedFlows(en: EmulatedNode, full: Cluster, flows: boolean, groups: boolean): void {
  const ports = podPortsFromFlows(full, en.name, undefined);
  const gen = generateNodeFlows(full, en.name, ports);
  if (groups) {
    en.bridge.delGroups();
    for (const g of gen.groups) en.bridge.addGroup(g);
  }
  if (flows) {
    en.bridge.delFlows();
    for (const f of gen.flows) en.bridge.install(parseFlow(f));
  }
}

/** buildNodeRules(cluster, node), with kube-proxy's node-independent rules built once by the caller. */
export function expectedNodeRules(cluster: Cluster, node: string, kubeProxy: Ruleset): Ruleset {
  return mergeRules(buildNodeRules(cluster, node, { withoutKubeProxy: true }), kubeProxy);
}

/** kube-proxy's rules alone, with the options buildNodeRules gives it. */
export function kubeProxyRules(cluster: Cluster): Ruleset {
  const rs = emptyRuleset();
  addKubeProxyRules(rs, cluster, {
    clusterCIDR: cluster.network.clusterNetwork,
    masqueradeBit: 0,
    randomFully: true,
    localDetector: 'cidr',
  });
  return rs;
}

/**
 * A node's openshift-sdn rules with kube-proxy's: kube-proxy's chains as they are, and in built-in chains its
 * jumps first (it prepends them, as buildNodeRules ends up with), then openshift-sdn's.
 */
function mergeRules(sdn: Ruleset, kp: Ruleset): Ruleset {
  const out = emptyRuleset();
  const names = new Set<TableName>([...sdn.tables.keys(), ...kp.tables.keys()]);
  for (const t of names) {
    const chains = new Map<string, Chain>();
    const a = kp.tables.get(t),
      b = sdn.tables.get(t);
    for (const src of [a, b]) {
      if (!src) continue;
      for (const [n, c] of src.chains) {
        const have = chains.get(n);
        const builtin = (BUILTIN_CHAINS[t] as readonly string[]).includes(n);
        if (!have) chains.set(n, builtin ? { ...c, rules: [...c.rules] } : c);
        else chains.set(n, { ...have, rules: [...have.rules, ...c.rules] });
      }
    }
    out.tables.set(t, { name: t, chains });
  }
  return out;
}
