/**
 * How long `packetwalk doctor` takes on a big cluster: a state directory of N nodes, P pods (each listening on
 * TCP 8080, spread over 50 namespaces and all nodes) and S ClusterIP services (each selecting P/S pods), with
 * every node's dump-flows.txt, dump-groups.txt and iptables-save.txt (packetwalk's own printers: a real OVS and
 * iptables at this scale are out of reach here; the small fixture of test/fixtures/state is the real tools'),
 * one node broken (a table 90 flow removed). As on a live cluster, no two nodes' files are the same bytes: every
 * node's counters differ (iptables-save -c packet/byte counts, flow n_packets/n_bytes), and each node has its
 * KUBE-SERVICES rules in another order (kube-proxy writes them in Go map order); --same-order keeps packetwalk's.
 *
 * Then it runs the built CLI, `packetwalk doctor --state DIR --json`, in a child process and prints its wall
 * clock, CPU seconds (user + system, the child's own getrusage: on a shared machine wall clock says more about
 * the other jobs than about doctor), peak RSS, and the report's compare and walk seconds.
 *
 *   npm run build && node --import tsx bench/doctor-state.ts [--nodes 100] [--pods 5000] [--services 1000] [--keep DIR] [--runs 1] [--same-order]
 *
 * --keep DIR keeps the state directory, and reuses one already there (the doctor run alone is measured).
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCluster } from '../src/cluster/build.js';
import { iptablesSave } from '../src/netfilter/iptables-save.js';
import { expectedNodeRules, kubeProxyRules } from '../src/state/partial-emulation.js';
import type { Ruleset } from '../src/netfilter/rules.js';
import { assignPodPorts, generateNodeFlows } from '../src/ovs/openshift-flows.js';
import { formatFlowDump, parseFlow } from '../src/ovs/flow-text.js';
import { exportClusterList } from '../src/state/export.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string' },
    pods: { type: 'string' },
    services: { type: 'string' },
    keep: { type: 'string' },
    runs: { type: 'string' },
    'same-order': { type: 'boolean' },
  },
});
const N = Number(values.nodes ?? 100),
  P = Number(values.pods ?? 5000),
  S = Number(values.services ?? 1000);
const RUNS = Number(values.runs ?? 1);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const PRELOAD = join(ROOT, 'bench', 'resource-usage.mjs');
const NAMESPACES = 50;

function documents(): object[] {
  const docs: object[] = [
    {
      apiVersion: 'network.openshift.io/v1',
      kind: 'ClusterNetwork',
      metadata: { name: 'default' },
      clusterNetworks: [{ CIDR: '10.128.0.0/14', hostSubnetLength: 9 }],
      serviceNetwork: '172.30.0.0/16',
      pluginName: 'redhat/openshift-ovs-networkpolicy',
      mtu: 1450,
    },
    { apiVersion: 'packetwalk/v1', kind: 'Underlay', cidr: '192.168.0.0/16', gateway: '192.168.0.1', mtu: 1500 },
    { apiVersion: 'packetwalk/v1', kind: 'ExternalHost', metadata: { name: 'external' }, ip: '203.0.113.10' },
  ];
  for (let n = 0; n < NAMESPACES; n++)
    docs.push({
      apiVersion: 'network.openshift.io/v1',
      kind: 'NetNamespace',
      metadata: { name: `ns${n}` },
      netname: `ns${n}`,
      netid: 100 + n,
    });
  for (let i = 0; i < N; i++) {
    const name = `node-${String(i).padStart(3, '0')}`;
    docs.push({
      apiVersion: 'network.openshift.io/v1',
      kind: 'HostSubnet',
      metadata: { name },
      host: name,
      hostIP: `192.168.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`,
    });
  }
  for (let k = 0; k < P; k++) {
    const svc = k % S;
    docs.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: `ns${svc % NAMESPACES}`, name: `pod-${k}`, labels: { app: `svc-${svc}` } },
      spec: {
        nodeName: `node-${String(k % N).padStart(3, '0')}`,
        containers: [{ name: 'c', ports: [{ containerPort: 8080, protocol: 'TCP' }] }],
      },
      status: { phase: 'Running' },
    });
  }
  for (let s = 0; s < S; s++) {
    docs.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: `ns${s % NAMESPACES}`, name: `svc-${s}` },
      spec: {
        type: 'ClusterIP',
        clusterIP: `172.30.${1 + Math.floor(s / 250)}.${1 + (s % 250)}`,
        selector: { app: `svc-${s}` },
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      },
    });
  }
  return docs;
}

function writeState(): void {
  const t = performance.now();
  const docs = documents();
  const cluster = buildCluster(docs, 'bench');
  mkdirSync(join(dir, 'objects'), { recursive: true });
  writeFileSync(join(dir, 'objects/cluster.yaml'), exportClusterList(docs, 'yaml'));
  let flowLines = 0,
    ruleLines = 0;
  let kp: Ruleset | undefined;
  for (const h of cluster.hostSubnets) {
    const d = join(dir, 'nodes', h.name);
    mkdirSync(d, { recursive: true });
    const { flows, groups } = generateNodeFlows(cluster, h.name, assignPodPorts(cluster, h.name));
    // Counters differ node by node (and flow by flow), as on a live cluster.
    let count = h.name.length * 7919 + flowLines;
    const next = () => (count = (count * 1103515245 + 12345) % 2147483648) % 100000;
    let dump = flows.map((f) => {
      const n = next();
      return formatFlowDump(parseFlow(f), { nPackets: n, nBytes: n * 98, durationSec: 1234.5 });
    });
    // Break one node as a re-added node breaks: a table 90 flow is missing.
    if (h.name === 'node-001') dump = dump.filter((l) => !/table=90, .*nw_dst=10\.128\.0\.0\/23 /.test(l));
    flowLines += dump.length;
    writeFileSync(join(d, 'dump-flows.txt'), `OFPST_FLOW reply (OF1.3) (xid=0x2):\n${dump.join('\n')}\n`);
    writeFileSync(
      join(d, 'dump-groups.txt'),
      `OFPST_GROUP_DESC reply (OF1.3) (xid=0x2):\n${groups.map((g) => ` ${g}`).join('\n')}\n`,
    );
    let ipt = iptablesSave(expectedNodeRules(cluster, h.name, (kp ??= kubeProxyRules(cluster))), {
      counters: true,
    }).replace(/\[0:0\]/g, () => {
      const n = next();
      return `[${n}:${n * 60}]`;
    });
    if (!values['same-order']) {
      // KUBE-SERVICES' service rules in this node's order (its last rule, the jump to KUBE-NODEPORTS, stays last).
      const lines = ipt.split('\n');
      const at = lines.flatMap((l, i) => (/ -A KUBE-SERVICES /.test(l) && !/KUBE-NODEPORTS/.test(l) ? [i] : []));
      const moved = at.map((i) => lines[i]!);
      for (let i = moved.length - 1; i > 0; i--) {
        const j = next() % (i + 1);
        [moved[i], moved[j]] = [moved[j]!, moved[i]!];
      }
      at.forEach((i, k) => {
        lines[i] = moved[k]!;
      });
      ipt = lines.join('\n');
    }
    ruleLines += ipt.split('\n').length;
    writeFileSync(join(d, 'iptables-save.txt'), ipt);
  }
  console.log(
    `state: ${N} nodes, ${cluster.pods.length} pods, ${cluster.services.length} services; ${flowLines} flow lines, ${ruleLines} iptables lines (written in ${((performance.now() - t) / 1000).toFixed(1)} s) in ${dir}`,
  );
}

/** One `doctor --json` run of the built CLI in a child process: wall clock, the child's CPU and peak RSS. */
function measure(): void {
  const resFile = join(dir, '.resource-usage.json');
  const load0 = loadavg()[0]!;
  const t = performance.now();
  const r = spawnSync(process.execPath, ['--import', PRELOAD, CLI, 'doctor', '--state', dir, '--json'], {
    env: { ...process.env, PACKETWALK_RESOURCE_FILE: resFile, NO_COLOR: '1' },
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0 && r.status !== 1) throw new Error(`doctor exited ${r.status}: ${r.stderr}`);
  const use = JSON.parse(readFileSync(resFile, 'utf8')) as { userSec: number; systemSec: number; maxRssBytes: number };
  rmSync(resFile);
  const rep = JSON.parse(r.stdout) as {
    seconds: { compare: number; walks: number };
    walks: { total: number; walked: number; failed: { explainedBy: string[] }[] };
    nodes: { differences: { message: string }[] }[];
  };
  const diffs = rep.nodes.flatMap((n) => n.differences);
  const cpu = use.userSec + use.systemSec;
  console.log(
    `doctor: wall ${wall.toFixed(1)} s, CPU ${cpu.toFixed(1)} s (user ${use.userSec.toFixed(1)}, system ${use.systemSec.toFixed(1)}), peak RSS ${(use.maxRssBytes / 2 ** 20).toFixed(0)} MB; compare ${rep.seconds.compare.toFixed(1)} s, walks ${rep.seconds.walks.toFixed(1)} s, the rest (start, load, output) ${(wall - rep.seconds.compare - rep.seconds.walks).toFixed(1)} s; ${rep.walks.total} walks, ${rep.walks.walked} walked, ${rep.walks.failed.length} failed (${rep.walks.failed.filter((f) => f.explainedBy.length).length} explained); ${diffs.length} difference(s); load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`,
  );
  for (const d of diffs) console.log(`  ${d.message}`);
}

if (!existsSync(CLI)) throw new Error(`${CLI} not found: run npm run build first`);
const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'pw-doctor-bench-'));
try {
  if (!(values.keep && existsSync(join(dir, 'objects/cluster.yaml')))) writeState();
  for (let i = 0; i < RUNS; i++) measure();
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
