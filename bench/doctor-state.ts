/**
 * How long `packetwalk doctor` takes on a big cluster: a state directory of N nodes, P pods (each listening on
 * TCP 8080, spread over 50 namespaces and all nodes) and S ClusterIP services (each selecting P/S pods), with
 * every node's dump-flows.txt, dump-groups.txt and iptables-save.txt (packetwalk's own printers: a real OVS and
 * iptables at this scale are out of reach here; the small fixture of test/fixtures/state is the real tools'),
 * one node broken (a table 90 flow removed). Prints the seconds for loading, comparing and walking.
 *
 *   node --import tsx bench/doctor-state.ts [--nodes 100] [--pods 5000] [--services 1000] [--keep DIR]
 *
 * --keep DIR keeps the state directory, and reuses one already there (the doctor run alone is measured).
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildCluster } from '../src/cluster/build.js';
import { doctor } from '../src/doctor/doctor.js';
import { iptablesSave } from '../src/netfilter/iptables-save.js';
import { expectedNodeRules, kubeProxyRules } from '../src/state/partial-emulation.js';
import type { Ruleset } from '../src/netfilter/rules.js';
import { assignPodPorts, generateNodeFlows } from '../src/ovs/openshift-flows.js';
import { formatFlowDump, parseFlow } from '../src/ovs/flow-text.js';
import { exportClusterList } from '../src/state/export.js';
import { loadStateDir } from '../src/state/state-dir.js';

const { values } = parseArgs({ options: { nodes: { type: 'string' }, pods: { type: 'string' }, services: { type: 'string' }, keep: { type: 'string' } } });
const N = Number(values.nodes ?? 100), P = Number(values.pods ?? 5000), S = Number(values.services ?? 1000);
const NAMESPACES = 50;

function documents(): object[] {
  const docs: object[] = [
    { apiVersion: 'network.openshift.io/v1', kind: 'ClusterNetwork', metadata: { name: 'default' }, clusterNetworks: [{ CIDR: '10.128.0.0/14', hostSubnetLength: 9 }], serviceNetwork: '172.30.0.0/16', pluginName: 'redhat/openshift-ovs-networkpolicy', mtu: 1450 },
    { apiVersion: 'packetwalk/v1', kind: 'Underlay', cidr: '192.168.0.0/16', gateway: '192.168.0.1', mtu: 1500 },
    { apiVersion: 'packetwalk/v1', kind: 'ExternalHost', metadata: { name: 'external' }, ip: '203.0.113.10' },
  ];
  for (let n = 0; n < NAMESPACES; n++) docs.push({ apiVersion: 'network.openshift.io/v1', kind: 'NetNamespace', metadata: { name: `ns${n}` }, netname: `ns${n}`, netid: 100 + n });
  for (let i = 0; i < N; i++) {
    const name = `node-${String(i).padStart(3, '0')}`;
    docs.push({ apiVersion: 'network.openshift.io/v1', kind: 'HostSubnet', metadata: { name }, host: name, hostIP: `192.168.${1 + Math.floor(i / 250)}.${2 + (i % 250)}` });
  }
  for (let k = 0; k < P; k++) {
    const svc = k % S;
    docs.push({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { namespace: `ns${svc % NAMESPACES}`, name: `pod-${k}`, labels: { app: `svc-${svc}` } },
      spec: { nodeName: `node-${String(k % N).padStart(3, '0')}`, containers: [{ name: 'c', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] },
      status: { phase: 'Running' },
    });
  }
  for (let s = 0; s < S; s++) {
    docs.push({
      apiVersion: 'v1', kind: 'Service',
      metadata: { namespace: `ns${s % NAMESPACES}`, name: `svc-${s}` },
      spec: { type: 'ClusterIP', clusterIP: `172.30.${1 + Math.floor(s / 250)}.${1 + (s % 250)}`, selector: { app: `svc-${s}` }, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }] },
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
  let flowLines = 0, ruleLines = 0;
  let kp: Ruleset | undefined;
  for (const h of cluster.hostSubnets) {
    const d = join(dir, 'nodes', h.name);
    mkdirSync(d, { recursive: true });
    const { flows, groups } = generateNodeFlows(cluster, h.name, assignPodPorts(cluster, h.name));
    let dump = flows.map((f) => formatFlowDump(parseFlow(f), { nPackets: 0, nBytes: 0, durationSec: 1234.5 }));
    // Break one node as a re-added node breaks: a table 90 flow is missing.
    if (h.name === 'node-001') dump = dump.filter((l) => !/table=90, .*nw_dst=10\.128\.0\.0\/23 /.test(l));
    flowLines += dump.length;
    writeFileSync(join(d, 'dump-flows.txt'), `OFPST_FLOW reply (OF1.3) (xid=0x2):\n${dump.join('\n')}\n`);
    writeFileSync(join(d, 'dump-groups.txt'), `OFPST_GROUP_DESC reply (OF1.3) (xid=0x2):\n${groups.map((g) => ` ${g}`).join('\n')}\n`);
    const ipt = iptablesSave(expectedNodeRules(cluster, h.name, (kp ??= kubeProxyRules(cluster))), { counters: true });
    ruleLines += ipt.split('\n').length;
    writeFileSync(join(d, 'iptables-save.txt'), ipt);
  }
  console.log(`state: ${N} nodes, ${cluster.pods.length} pods, ${cluster.services.length} services; ${flowLines} flow lines, ${ruleLines} iptables lines (written in ${((performance.now() - t) / 1000).toFixed(1)} s) in ${dir}`);
}

const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'pw-doctor-bench-'));
try {
  if (!(values.keep && existsSync(join(dir, 'objects/cluster.yaml')))) writeState();
  const t = performance.now();
  const state = loadStateDir(dir);
  const tLoad = (performance.now() - t) / 1000;
  const r = doctor(state);
  const total = (performance.now() - t) / 1000;
  const diffs = r.nodes.reduce((a, n) => a + n.differences.length, 0);
  console.log(`doctor: load ${tLoad.toFixed(1)} s, compare ${r.seconds.compare.toFixed(1)} s, walks ${r.seconds.walks.toFixed(1)} s (${r.walks.total} walks, ${r.walks.walked} walked, ${r.walks.failed.length} failed), total ${total.toFixed(1)} s; ${diffs} difference(s)`);
  for (const n of r.nodes) for (const d of n.differences) console.log(`  ${d.message}`);
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
