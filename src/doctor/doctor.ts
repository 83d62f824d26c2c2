/**
 * `packetwalk doctor`: a real cluster's state directory against what OpenShift SDN would program for its
 * objects. First, node by node (one node's dumps in memory at a time), the differences in br0 flows and groups,
 * iptables and routes, each explained in the cluster's terms. Then the standard walk matrix (matrix.ts) on the
 * actual state; a walk that fails is walked again with a trace to find where it stops (node, table or chain,
 * rule) and is matched to the difference that explains it. A walk that fails the same way on what OpenShift SDN
 * would program (a NetworkPolicy or EgressNetworkPolicy that denies it) is not a problem and is only counted.
 */

import { parseFlow, type FlowSpec } from '../ovs/flow-text.js';
import { parseGroup } from '../ovs/groups.js';
import { generateNodeFlows } from '../ovs/openshift-flows.js';
import { buildNodeRules } from '../netfilter/node-rules.js';
import type { Emulation } from '../node/emulation.js';
import { runFlow } from '../walk/flow.js';
import type { WalkPacket } from '../runtime/runtime.js';
import { nicName } from '../state/apply.js';
import { kubeProxyRules, partialEmulation } from '../state/partial-emulation.js';
import type { NodeState } from '../state/node-files.js';
import { podPortsFromFlows } from '../state/ports.js';
import { flowKey, RecentMap } from '../state/node-files.js';
import { foundText, type StateDir } from '../state/state-dir.js';
import type { Difference } from './difference.js';
import { compareFlows, compareGroups, type FlowTexts } from './flows.js';
import { canonicalize, compareIptables, mergeCanonical, type CanonRuleset } from './iptables.js';
import type { Ruleset } from '../netfilter/rules.js';
import { iptablesSave } from '../netfilter/iptables-save.js';
import type { Cluster } from '../cluster/types.js';
import { matrixWalks, type MatrixWalk, type WalkKind } from './matrix.js';
import { compareRoutes } from './routes.js';
import { Terms } from './terms.js';

export interface NodeReport {
  node: string;
  /** Files found in nodes/<node>/. */
  files: string[];
  differences: Difference[];
  /** Legitimate variation seen and not reported (cookies, kube-proxy chain hashes, probabilities). */
  variation: string[];
}

export interface FailedWalk {
  kind: WalkKind;
  label: string;
  detail: string;
  /** Where the walk stopped: node and the drop reason (`br0: table 90 priority 0 drop`, `iptables FORWARD: ...`). */
  node?: string;
  at?: string;
  /** Messages of the differences that explain it. */
  explainedBy: string[];
  /** Walks like it (the same but through other nodes of the plain kind) that were not walked: they fail alike. */
  alike?: number;
}

export interface DoctorReport {
  dir: string;
  found: string;
  notes: string[];
  nodes: NodeReport[];
  unmodelled: string[];
  /** `walked` of `total` were walked; the rest were decided by equivalence (see walkMatrix). */
  walks: {
    total: number;
    walked: number;
    passed: number;
    failedAsExpected: number;
    failed: FailedWalk[];
    byKind: Record<string, number>;
  };
  /** Seconds spent comparing and walking. */
  seconds: { compare: number; walks: number };
}

export interface DoctorOptions {
  node?: string;
  seed?: number;
  /** Skip the walk matrix (compare only). */
  noWalks?: boolean;
  /** Walk the whole matrix when it has at most this many walks (default 2000); beyond, only what can differ. */
  walkBudget?: number;
}

/**
 * What expected and actual rulesets look like canonically, computed once per run: kube-proxy's rules do not
 * depend on the node (KP `syncProxyRules`), so they are built once and merged with each node's openshift-sdn rules.
 */
export class CompareCache {
  private kubeProxy: CanonRuleset | undefined;
  private kubeProxyRuleset: Ruleset | undefined;
  /** The canonical form of the actual rules compared last (nodes come in runs with the same rules). */
  private actual: { key: string; canon: CanonRuleset } | undefined;
  /**
   * Expected flows by their flowKey, shared with the state's dump-flows parsing: a node's expected flows are mostly
   * in its dump (parsed already), the rest mostly in the node's before (tables 10, 50, 90 for the other nodes).
   */
  private readonly flows: RecentMap<FlowSpec>;
  /** Those flows' match and actions text (flows.ts). */
  readonly flowTexts: FlowTexts = new WeakMap();
  constructor(
    private readonly cluster: Cluster,
    flows: RecentMap<FlowSpec> = new RecentMap(),
  ) {
    this.flows = flows;
  }

  /** kube-proxy's rules for the cluster (the same on every node), built on first use. */
  kubeProxyRules(): Ruleset {
    return (this.kubeProxyRuleset ??= kubeProxyRules(this.cluster));
  }

  /** A generated flow's text parsed, or the same flow parsed before (of this node or the one before). */
  expectedFlow(text: string): FlowSpec {
    const key = flowKey(text);
    let f = key === undefined ? undefined : this.flows.get(key);
    if (!f) {
      f = parseFlow(text);
      if (key !== undefined) this.flows.set(key, f);
    }
    return f;
  }

  private actualRules(key: string, rs: () => Ruleset): CanonRuleset {
    if (this.actual?.key !== key) this.actual = { key, canon: canonicalize(rs()) };
    return this.actual.canon;
  }

  /** Results by the actual rules' order-free key (node-files.ts orderFreeKey), then by the expected sdn rules. */
  private readonly results = new Map<string, Map<string, { differences: Difference[]; renamed: number }>>();

  /**
   * A node's rules (`actual`, parsed only if needed; `actualKey` its orderFreeKey) against what it should have.
   * Nodes whose rules have the same key and whose openshift-sdn rules are the same (every node but egress-IP
   * nodes) get the same answer: it is computed once with a placeholder node name. (Rules that moved within a chain
   * are the same multiset; their differences are listed in the order of the first node that had them.)
   */
  compareRules(
    node: string,
    actualKey: string,
    actual: () => Ruleset,
    terms: Terms,
  ): { differences: Difference[]; renamed: number } {
    const sdn = buildNodeRules(this.cluster, node, { withoutKubeProxy: true });
    const key = iptablesSave(sdn);
    let byKey = this.results.get(actualKey);
    if (!byKey) this.results.set(actualKey, (byKey = new Map()));
    let r = byKey.get(key);
    if (!r) {
      this.kubeProxy ??= canonicalize(this.kubeProxyRules());
      r = compareIptables(
        NODE_PLACEHOLDER,
        this.actualRules(actualKey, actual),
        mergeCanonical(canonicalize(sdn), this.kubeProxy),
        terms,
      );
      byKey.set(key, r);
    }
    const named = (t: string) => t.split(NODE_PLACEHOLDER).join(node);
    return {
      renamed: r.renamed,
      differences: r.differences.map((d) => ({
        ...d,
        node,
        message: named(d.message),
        subjects: d.subjects.map(named),
      })),
    };
  }
}

const NODE_PLACEHOLDER = '\u0000node\u0000';

/** Differences of one node's dumps against the expected state; files absent are not compared. */
export function diagnoseNode(
  state: StateDir,
  st: NodeState,
  terms: Terms,
  cache = new CompareCache(state.cluster, state.flowSpecs),
): NodeReport {
  const cluster = state.cluster;
  const node = st.node;
  const differences: Difference[] = [];
  const variation: string[] = [];
  if (st.flows || st.groups) {
    const ports = podPortsFromFlows(cluster, node, st.flows);
    const gen = generateNodeFlows(cluster, node, ports);
    if (st.flows) {
      const expected = gen.flows.map((t) => cache.expectedFlow(t));
      const r = compareFlows(
        node,
        st.flows.map((f) => f.spec),
        expected,
        terms,
        cache.flowTexts,
      );
      differences.push(...r.differences);
      if (r.cookieOnly)
        variation.push(
          `${r.cookieOnly} flow(s) differ only in cookie (cookies are hashes of HostSubnet/NetNamespace UIDs; not compared)`,
        );
    }
    if (st.groups)
      differences.push(
        ...compareGroups(
          node,
          st.groups,
          gen.groups.map((t) => parseGroup(t)),
          terms,
        ),
      );
  }
  if (st.iptablesKey !== undefined) {
    const r = cache.compareRules(node, st.iptablesKey, () => st.iptables!, terms);
    differences.push(...r.differences);
    if (r.renamed)
      variation.push(
        `${r.renamed} kube-proxy chain(s) have other hashed names than packetwalk computes; compared by service and endpoint instead`,
      );
    variation.push('kube-proxy statistic probabilities and rule counters are not compared');
  }
  if (st.routes) {
    const h = cluster.hostSubnets.find((x) => x.name === node)!;
    differences.push(...compareRoutes(node, st.routes, nicName(st, h.hostIP) ?? 'eth0', cluster));
  }
  return { node, files: st.files, differences, variation };
}

export function doctor(state: StateDir, opts: DoctorOptions = {}): DoctorReport {
  const terms = new Terms(state.cluster);
  const t0 = performance.now();
  const nodes: NodeReport[] = [];
  const unmodelled: string[] = [];
  const cache = new CompareCache(state.cluster, state.flowSpecs);
  for (const node of state.nodeDirs) {
    if (opts.node !== undefined && node !== opts.node) continue;
    const st = state.readNode(node);
    for (const u of st.unmodelled) unmodelled.push(`${node}: ${u}`);
    nodes.push(diagnoseNode(state, st, terms, cache));
  }
  const t1 = performance.now();
  const walks = opts.noWalks
    ? { total: 0, walked: 0, passed: 0, failedAsExpected: 0, failed: [], byKind: {} }
    : walkMatrix(state, nodes, unmodelled, opts, cache);
  return {
    dir: state.dir,
    found: foundText(state),
    notes: state.notes,
    nodes,
    unmodelled,
    walks,
    seconds: { compare: (t1 - t0) / 1000, walks: (performance.now() - t1) / 1000 },
  };
}

/**
 * The matrix on the actual state. Small matrices (up to `walkBudget` walks) are walked whole. Larger ones only
 * where the actual state can behave differently from the model: a walk whose every node has no difference, is
 * named by none, and has no conntrack entries or unmodelled flows loaded runs exactly as OpenShift SDN would
 * program it, so it is counted, not walked; among the rest, nodes of that plain kind are interchangeable, and one
 * walk stands for all walks that differ only in which plain node they use. Only the nodes the walked walks touch
 * are built (partial-emulation.ts).
 */
function walkMatrix(
  state: StateDir,
  nodes: NodeReport[],
  unmodelled: string[],
  opts: DoctorOptions,
  cache: CompareCache,
): DoctorReport['walks'] {
  const seed = opts.seed ?? 1;
  const diffs = nodes.flatMap((n) => n.differences);
  const budget = opts.walkBudget ?? 2000;
  // Beyond the budget only walks touching a special node are walked, so only those are made.
  const special = specialNodes(state, nodes, unmodelled, diffs);
  let m = matrixWalks(state.cluster, opts.node, (ns) => ns.some((n) => special.has(n)));
  if (m.total <= budget) m = matrixWalks(state.cluster, opts.node);
  const byKind = m.byKind;
  const groups = representatives(m.walks, m.total <= budget, special, diffs);
  const needed = new Set(groups.flatMap((g) => g.rep.nodes));
  const failed: FailedWalk[] = [];
  let passed = m.total - groups.reduce((a, g) => a + 1 + g.alike, 0);
  let failedAsExpected = 0;
  if (groups.length) {
    const kubeProxy = () => cache.kubeProxyRules();
    const emu = partialEmulation(state, needed, { seed, actual: true, kubeProxy });
    let pristine: Emulation | undefined;
    for (const g of groups) {
      const w = g.rep;
      const r = runFlow(emu, w.spec);
      emu.runtime.clock.advance(1_000_000);
      if (r.ok) {
        passed += 1 + g.alike;
        continue;
      }
      pristine ??= partialEmulation(state, needed, { seed, actual: false, kubeProxy });
      if (!runFlow(pristine, w.spec).ok) {
        failedAsExpected += 1 + g.alike;
        continue;
      }
      const f = locate(emu, w, r.detail, diffs);
      if (g.alike) f.alike = g.alike;
      failed.push(f);
    }
  }
  return { total: m.total, walked: groups.length, passed, failedAsExpected, failed, byKind };
}

/** Nodes that may behave unlike the model: a difference on them or naming them, conntrack entries, unmodelled flows. */
function specialNodes(state: StateDir, nodes: NodeReport[], unmodelled: string[], diffs: Difference[]): Set<string> {
  const names = new Set(state.cluster.hostSubnets.map((h) => h.name));
  const out = new Set<string>();
  for (const d of diffs) {
    out.add(d.node);
    for (const s of d.subjects) if (names.has(s)) out.add(s);
  }
  for (const n of nodes) if (n.files.includes('conntrack.txt')) out.add(n.node);
  for (const u of unmodelled) out.add(u.slice(0, u.indexOf(':')));
  return out;
}

/** The walks to walk: all of a whole matrix; else one per group of walks alike but for which plain nodes they use. */
function representatives(
  matrix: MatrixWalk[],
  whole: boolean,
  special: ReadonlySet<string>,
  diffs: Difference[],
): { rep: MatrixWalk; alike: number }[] {
  if (whole) return matrix.map((rep) => ({ rep, alike: 0 }));
  // Services no difference names and whose endpoints all sit on plain nodes are interchangeable too: the client
  // node's rules for them are as expected, and so is every node they lead to.
  const named = new Set(diffs.flatMap((d) => d.subjects));
  const groups = new Map<string, { rep: MatrixWalk; alike: number }>();
  for (const w of matrix) {
    if (!w.nodes.some((n) => special.has(n))) continue;
    const svc = w.kind === 'pod-to-service' || w.kind === 'nodeport' ? (/svc\/([^\s)]+)/.exec(w.label)?.[1] ?? '') : '';
    const plainService = svc !== '' && !named.has(svc) && !w.nodes.slice(1).some((n) => special.has(n));
    // The walk with its plain nodes made anonymous (same-node walks stay same-node); a plain service's endpoint
    // nodes do not count.
    const plain = new Map<string, number>();
    const shapeNodes = plainService ? w.nodes.slice(0, 1) : w.nodes;
    const shape = shapeNodes
      .map((n) => (special.has(n) ? n : `plain${plain.get(n) ?? plain.set(n, plain.size).get(n)}`))
      .join(',');
    const key = `${w.kind}|${shape}|${plainService ? 'plain-service' : svc}`;
    const g = groups.get(key);
    if (g) g.alike++;
    else groups.set(key, { rep: w, alike: 0 });
  }
  return [...groups.values()];
}

/** Walk a failed conversation again with a trace: where its first packet was dropped, and the differences behind it. */
function locate(emu: Emulation, w: MatrixWalk, detail: string, diffs: Difference[]): FailedWalk {
  const rt = emu.runtime;
  rt.tracing = true;
  rt.packets.length = 0;
  runFlow(emu, w.spec);
  rt.tracing = false;
  const drop = walkStop(rt.packets, emu.nodes);
  rt.packets.length = 0;
  const fw: FailedWalk = { kind: w.kind, label: w.label, detail, node: drop?.host, at: drop?.reason, explainedBy: [] };
  fw.explainedBy = explain(fw, w, diffs).map((d) => d.message);
  return fw;
}

/**
 * Where a traced walk stopped: of its dropped packets, the one a table, chain or unmodelled action dropped
 * (the cause), else one dropped on a node (e.g. its ARP over a dead tunnel), else the first. A conversation's
 * first packet often dies waiting for an ARP that was itself dropped further on; that ARP's drop is the cause.
 */
export function walkStop(
  packets: readonly WalkPacket[],
  nodes: ReadonlyMap<string, unknown>,
): { host: string; reason?: string } | undefined {
  const drops = packets
    .map((p) => p.outcome)
    .filter((o): o is NonNullable<WalkPacket['outcome']> => o?.kind === 'dropped');
  return (
    drops.find((o) => /^br0: |^iptables |not modelled/.test(o.reason ?? '')) ??
    drops.find((o) => nodes.has(o.host)) ??
    drops[0]
  );
}

/** Differences at the place the walk stopped (same node, same table/priority or chain), else those about what it involves. */
function explain(fw: FailedWalk, w: MatrixWalk, diffs: Difference[]): Difference[] {
  const at = fw.at ?? '';
  const tm = /table (\d+)(?: priority (\d+))?/.exec(at);
  if (tm && fw.node) {
    const table = +tm[1]!,
      prio = tm[2] === undefined ? undefined : +tm[2];
    const exact = diffs.filter(
      (d) =>
        d.node === fw.node &&
        d.table === table &&
        (prio === undefined || d.priority === undefined || d.priority === prio),
    );
    const related = exact.filter((d) => d.subjects.some((s) => w.subjects.includes(s)));
    if (related.length) return related;
    if (exact.length) return exact;
  }
  if (fw.node && /^iptables /.test(at)) {
    const inChain = diffs.filter(
      (d) =>
        d.node === fw.node && d.area === 'iptables' && d.chain !== undefined && at.includes(d.chain.split(' ')[1]!),
    );
    if (inChain.length) return inChain;
  }
  const subj = new Set(w.subjects);
  const shares = (d: Difference) => d.subjects.some((s) => subj.has(s));
  const here = diffs.filter((d) => d.node === fw.node && shares(d));
  if (here.length) return here;
  const onPath = diffs.filter((d) => shares(d) && subj.has(d.node));
  if (onPath.length) return onPath;
  const related = diffs.filter(shares);
  if (related.length) return related;
  return diffs.filter((d) => d.node === fw.node);
}
