/**
 * The `--node NODE` commands: a node's br0 flows, iptables rules and conntrack table, on a fresh emulation or
 * after running a scenario (--scenario) so counters and connections show what its packets did.
 */

import type { Cluster } from '../cluster/types.js';
import { createFastPath } from '../fastpath/fast-path.js';
import { formatConntrackTable } from '../netfilter/conntrack-format.js';
import { iptablesSave } from '../netfilter/iptables-save.js';
import { Emulation } from '../node/emulation.js';
import { findScenario } from '../scenarios/catalog.js';
import { runScenario } from '../scenarios/run-scenario.js';
import { intOption, parse, UsageError } from './args.js';
import { clusterSource, type ClusterSource } from './cluster-source.js';

/** An Emulation for `--node` commands: fresh, or after running `--scenario` (counters, conntrack, ARP). */
function emulationFor(
  src: ClusterSource,
  scenarioName: string | undefined,
  seed: number,
): { emu: Emulation; cluster: Cluster } {
  if (!scenarioName)
    return { emu: new Emulation(src.cluster, { seed, fastPath: createFastPath }), cluster: src.cluster };
  const s = findScenario(scenarioName);
  if (!s) throw new UsageError(`unknown scenario ${JSON.stringify(scenarioName)} (see 'packetwalk scenarios')`);
  const r = runScenario(s, {
    get baseDocuments() {
      return src.docs;
    },
    baseCluster: src.cluster,
    clusterFile: src.file,
    seed,
  });
  return { emu: r.emulation, cluster: r.cluster };
}

/** The `--node` argument, checked against the cluster's nodes. */
function checkNode(cluster: Cluster, node: string | undefined): string {
  if (!node) throw new UsageError('this command needs --node NODE');
  if (!cluster.hostSubnets.some((h) => h.name === node))
    throw new UsageError(
      `unknown node ${JSON.stringify(node)}; nodes: ${cluster.hostSubnets.map((h) => h.name).join(', ')}`,
    );
  return node;
}

const NODE_OPTIONS = {
  node: { type: 'string' },
  cluster: { type: 'string' },
  scenario: { type: 'string' },
  seed: { type: 'string' },
} as const;

/** `packetwalk iptables --node NODE`. */
export function cmdIptables(args: string[], src: (file: string | undefined) => ClusterSource): number {
  const a = parse(args, { ...NODE_OPTIONS, counters: { type: 'boolean', short: 'c' } });
  if (a.flag('help')) {
    process.stdout.write(
      `Usage: packetwalk iptables --node NODE [--scenario NAME] [--counters] [--cluster FILE]\n\nThe node's iptables rules (openshift-sdn and kube-proxy chains) in iptables-save format. With --scenario,\nafter running that scenario, so -c counters show which rules its packets hit.\n\nExample:\n  packetwalk iptables --node aro2-p8bjm-worker-northeurope1-qt8l7 --scenario pod-to-service-same-node -c\n`,
    );
    return 0;
  }
  const { emu, cluster } = emulationFor(
    src(a.str('cluster')),
    a.str('scenario'),
    intOption('seed', a.str('seed'), 0, 0xffffffff) ?? 1,
  );
  const node = checkNode(cluster, a.str('node'));
  process.stdout.write(iptablesSave(emu.node(node).netfilter.ruleset, { counters: a.flag('counters') }));
  return 0;
}

/** `packetwalk conntrack --node NODE --scenario NAME`. */
export function cmdConntrack(args: string[], src: (file: string | undefined) => ClusterSource): number {
  const a = parse(args, NODE_OPTIONS);
  if (a.flag('help')) {
    process.stdout.write(
      `Usage: packetwalk conntrack --node NODE --scenario NAME [--cluster FILE]\n\nThe node's connection tracking table as 'conntrack -L' prints it, after running the scenario.\n\nExample:\n  packetwalk conntrack --node aro2-p8bjm-worker-northeurope1-qt8l7 --scenario pod-to-service-cross-node\n`,
    );
    return 0;
  }
  if (!a.str('scenario')) throw new UsageError('conntrack needs --scenario NAME (the table is empty before any walk)');
  const { emu, cluster } = emulationFor(
    src(a.str('cluster')),
    a.str('scenario'),
    intOption('seed', a.str('seed'), 0, 0xffffffff) ?? 1,
  );
  const node = checkNode(cluster, a.str('node'));
  const nf = emu.node(node).netfilter;
  const text = formatConntrackTable(nf.conntrack, emu.runtime.clock.now);
  process.stdout.write(text);
  process.stderr.write(
    `conntrack v1.4.7 (conntrack-tools): ${text ? text.trimEnd().split('\n').length : 0} flow entries have been shown.\n`,
  );
  return 0;
}

/** `packetwalk flows --node NODE`. */
export function cmdFlows(args: string[]): number {
  const a = parse(args, {
    node: { type: 'string' },
    table: { type: 'string' },
    format: { type: 'string' },
    cluster: { type: 'string' },
    scenario: { type: 'string' },
    seed: { type: 'string' },
  });
  if (a.flag('help')) {
    process.stdout.write(
      `Usage: packetwalk flows --node NODE [--table N] [--format dump|ofctl] [--scenario NAME] [--cluster FILE]\n\nPrints the node's br0 flows as 'ovs-ofctl -O OpenFlow13 dump-flows br0' does (--format dump, the default)\nor as add-flows input for a real Open vSwitch (--format ofctl; groups follow after a line '# groups').\nWith --scenario, after running that scenario on the node's cluster, so n_packets/n_bytes count its packets.\n\nExamples:\n  packetwalk flows --node aro2-p8bjm-worker-northeurope1-qt8l7 --table 90\n  packetwalk flows --node aro2-p8bjm-worker-northeurope1-qt8l7 --format ofctl > br0.flows\n`,
    );
    return 0;
  }
  const table = intOption('table', a.str('table'), 0, 254);
  const format = a.str('format') ?? 'dump';
  if (format !== 'dump' && format !== 'ofctl')
    throw new UsageError(`--format must be dump or ofctl, got ${JSON.stringify(format)}`);
  const { emu, cluster } = emulationFor(
    clusterSource(a.str('cluster')),
    a.str('scenario'),
    intOption('seed', a.str('seed'), 0, 0xffffffff) ?? 1,
  );
  const node = checkNode(cluster, a.str('node'));
  const br = emu.node(node).bridge;
  if (format === 'ofctl') {
    const { flows, groups } = br.exportOfctl();
    process.stdout.write(flows + (groups ? `\n# groups\n${groups}` : '') + (flows.endsWith('\n') ? '' : '\n'));
  } else {
    process.stdout.write(br.dumpFlows(table === undefined ? {} : { table }) + '\n');
  }
  return 0;
}
