import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ipv4, macToString } from '../../codecs/bytes.js';
import { BUILTIN_NODES, builtinCluster, builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { ClusterIndex } from '../../src/cluster/cluster-index.js';
import { azureNicMac } from '../../src/cluster/derive.js';
import { parseClusterDocuments } from '../../src/cluster/load.js';
import { formatTable } from '../../src/cluster/tables.js';
import { overlayMtu } from '../../src/cluster/types.js';

// The seed article lives in shared/ beside the repository (locally and in CI).
const SEED = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'seeds', 'aro-packet-part1.txt');
const hasSeed = existsSync(SEED);
if (!hasSeed) console.warn(`builtin.test: ${SEED} not found; the comparisons with the seed article are skipped`);

/** The seed's lines with the web page's non-breaking spaces turned back into spaces. */
function seedLines(): string[] {
  return readFileSync(SEED, 'utf8')
    .replace(/\u00a0/g, ' ')
    .split('\n');
}

/** The lines after a command line up to the first blank line (or `count` lines). */
function seedOutput(command: string, count?: number): string[] {
  const lines = seedLines();
  const at = lines.findIndex((l) => l.trim() === command);
  expect(at, `command ${command} in the seed`).toBeGreaterThanOrEqual(0);
  const end = count !== undefined ? at + 1 + count : lines.findIndex((l, i) => i > at && l.trim() === '');
  return lines.slice(at + 1, end);
}

const dropLastColumn = (l: string): string => l.trimEnd().replace(/\s+\S+$/, '');

describe('built-in ARO cluster', () => {
  const cluster = builtinCluster();

  it.skipIf(!hasSeed)('prints `oc get hostsubnets` exactly as the article shows it', () => {
    const expected = seedOutput('kubectl get hostsubnets.network.openshift.io').map((l) => l.trimEnd());
    expect(expected).toHaveLength(7);
    expect(formatTable(cluster, 'hostsubnets').split('\n')).toEqual(expected);
  });

  it.skipIf(!hasSeed)('prints project1 `oc get svc` as the article shows it, but for AGE', () => {
    const expected = seedOutput('kubectl get svc', 4).map(dropLastColumn);
    expect(formatTable(cluster, 'services', { namespace: 'project1' }).split('\n').map(dropLastColumn)).toEqual(
      expected,
    );
  });

  it.skipIf(!hasSeed)('has the project1 pods of `oc get pod -o wide` with their IPs and nodes', () => {
    const seedRows = new Map(
      seedOutput('kubectl get pod -o wide')
        .slice(1)
        .map((l) => [l.split(/\s+/)[0]!, l.trim().split(/\s+/)]),
    );
    const ours = formatTable(cluster, 'pods', { namespace: 'project1' }).split('\n').slice(1);
    expect(ours).toHaveLength(3);
    for (const row of ours) {
      const cells = row.trim().split(/\s+/);
      const seed = seedRows.get(cells[0]!);
      expect(seed, cells[0]).toBeDefined();
      // every column but AGE (index 4)
      expect(cells.filter((_, i) => i !== 4)).toEqual(seed!.filter((_, i) => i !== 4));
    }
  });

  it.skipIf(!hasSeed)("has worker 1's pods of `oc get pod -A -o wide` with their namespaces, IPs and nodes", () => {
    const seedRows = seedOutput('kubectl get pod -A -o wide | grep aro2-p8bjm-worker-northeurope1-qt8l7').map((l) =>
      l.trim().split(/\s+/),
    );
    const bySeedKey = new Map(seedRows.map((c) => [`${c[0]}/${c[1]}`, c]));
    const ours = formatTable(cluster, 'pods')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    const onWorker1 = ours.filter((c) => c[7] === BUILTIN_NODES.WORKER_1 && c[1] !== 'sqlapi-1-8jgx8'); // 8jgx8 is from the other listing
    expect(onWorker1.length).toBeGreaterThanOrEqual(7);
    for (const cells of onWorker1) {
      const seed = bySeedKey.get(`${cells[0]}/${cells[1]}`);
      expect(seed, `${cells[0]}/${cells[1]}`).toBeDefined();
      // NAMESPACE NAME STATUS RESTARTS IP NODE NOMINATED READINESS (READY and AGE are fixed values here)
      const pick = (c: string[]): string[] => c.filter((_, i) => i !== 2 && i !== 5);
      expect(pick(cells)).toEqual(pick(seed!));
    }
  });

  it.skipIf(!hasSeed)(
    "loads the article's `oc get clusternetworks -o yaml` output unchanged and gets the same network",
    () => {
      const lines = seedLines();
      const start = lines.findIndex((l) => l.startsWith('oc get clusternetworks.network.openshift.io -o yaml')) + 1;
      const end = lines.findIndex((l, i) => i > start && l.trim() === '');
      const fromSeed = parseClusterDocuments(lines.slice(start, end).join('\n'), 'seed.yaml');
      expect(fromSeed.network).toEqual(cluster.network);
    },
  );

  it('has the article network settings', () => {
    expect(formatTable(cluster, 'clusternetwork').split('\n')[1]!.split(/\s+/)).toEqual([
      'default',
      '10.128.0.0/14',
      '172.30.0.0/16',
      'redhat/openshift-ovs-networkpolicy',
    ]);
    expect(cluster.network.mtu).toBe(1500);
    expect(overlayMtu(cluster.network)).toBe(1450);
    expect(cluster.network.vxlanPort).toBe(4789);
    expect(cluster.network.hostSubnetLength).toBe(9);
    expect(cluster.underlay).toEqual({
      cidr: { network: ipv4('192.168.0.0'), prefix: 24, mask: 0xffffff00 },
      gateway: ipv4('192.168.0.1'),
      gatewayMac: 0x123456789abc,
      mtu: 1500,
    });
    expect(cluster.externalHosts.map((h) => [h.name, h.ip])).toEqual([['external', ipv4('203.0.113.10')]]);
  });

  it('derives MACs: 0a:58:<ip> for pods, the NIC MAC for hostNetwork pods, random-looking local MACs for tun0', () => {
    const ix = new ClusterIndex(cluster);
    // 10.131.0.40 = 0a 83 00 28; 10.128.2.24 = 0a 80 02 18 (worked by hand)
    expect(macToString(ix.pod('project1', 'sqlapi-1-8jgx8')!.mac)).toBe('0a:58:0a:83:00:28');
    expect(macToString(ix.pod('project1', 'server-1-ppl25')!.mac)).toBe('0a:58:0a:80:02:18');
    const hostPod = ix.pod('project1', 'sqlapi-pod')!;
    const worker2 = ix.node(BUILTIN_NODES.WORKER_2)!;
    expect(hostPod.hostNetwork).toBe(true);
    expect(hostPod.ip).toBe(ipv4('192.168.0.6'));
    expect(hostPod.mac).toBe(worker2.nicMac);
    for (const h of cluster.hostSubnets) {
      expect(macToString(h.nicMac)).toMatch(/^00:0d:3a:/); // Microsoft OUI, as on Azure
      expect(Math.floor(h.tun0Mac / 2 ** 40) & 0x03).toBe(0x02); // unicast, locally administered
    }
    // The NIC MACs written into the built-in file are the ones azureNicMac derives from the node names.
    for (const h of cluster.hostSubnets) expect(h.nicMac).toBe(azureNicMac(h.name));
    expect(new Set(cluster.hostSubnets.map((h) => h.tun0Mac)).size).toBe(6);
    expect(new Set(cluster.hostSubnets.map((h) => h.nicMac)).size).toBe(6);
  });

  it('gives fixed VNIDs: 0 to default, distinct values >= 10 to the others', () => {
    const ids = new Map(cluster.netNamespaces.map((n) => [n.name, n.netid]));
    expect(ids.get('default')).toBe(0);
    for (const ns of ['project1', 'kuard1', 'kuard2', 'openshift-dns', 'openshift-ingress', 'openshift-sdn'])
      expect(ids.get(ns)).toBeGreaterThanOrEqual(10);
    const nonGlobal = [...ids.values()].filter((v) => v !== 0);
    expect(new Set(nonGlobal).size).toBe(nonGlobal.length);
  });

  it('derives service endpoints from selectors', () => {
    const ix = new ClusterIndex(cluster);
    expect(ix.endpoints('project1', 'sqlapilb')).toEqual({
      namespace: 'project1',
      name: 'sqlapilb',
      addresses: [{ ip: ipv4('10.131.0.40'), pod: 'project1/sqlapi-1-8jgx8', node: BUILTIN_NODES.WORKER_1 }],
      ports: [{ protocol: 'TCP', port: 8080 }],
    });
    expect(ix.endpoints('project1', 'server')!.addresses.map((a) => a.ip)).toEqual([ipv4('10.128.2.24')]);
    expect(ix.endpoints('default', 'kubernetes')!.addresses.map((a) => a.ip)).toEqual(
      ['192.168.0.38', '192.168.0.39', '192.168.0.40'].map(ipv4),
    );
    const lb = ix.service('project1', 'sqlapilb')!;
    expect(lb.type).toBe('LoadBalancer');
    expect(lb.externalIPs).toEqual([ipv4('192.168.0.11')]);
    expect(lb.ports).toEqual([{ protocol: 'TCP', port: 8080, targetPort: 8080, nodePort: 30039 }]);
  });

  it('indexes nodes, pods, services and subnets', () => {
    const ix = new ClusterIndex(cluster);
    expect(ix.podByIp.get(ipv4('10.131.0.40'))!.name).toBe('sqlapi-1-8jgx8');
    expect(ix.podByIp.get(ipv4('192.168.0.6'))).toBeUndefined(); // hostNetwork pods share the node IP
    expect(ix.nodeByHostIp.get(ipv4('192.168.0.6'))!.name).toBe(BUILTIN_NODES.WORKER_2);
    expect(ix.nodeForOverlayIp(ipv4('10.129.3.7'))!.name).toBe(BUILTIN_NODES.WORKER_2); // 10.129.2.0/23
    expect(ix.nodeForOverlayIp(ipv4('10.129.1.1'))!.name).toBe(BUILTIN_NODES.MASTER_0); // 10.129.0.0/23
    expect(ix.nodeForOverlayIp(ipv4('10.131.2.1'))).toBeUndefined();
    expect(ix.serviceByClusterIp.get(ipv4('172.30.226.18'))!.name).toBe('sqlapilb');
    expect(ix.vnid('default')).toBe(0);
    expect(ix.podsByNode.get(BUILTIN_NODES.WORKER_3)!.map((p) => p.name)).toEqual(['server-1-ppl25']);
  });

  it('gives a fresh copy of its documents on every call', () => {
    const a = builtinClusterDocuments() as { kind: string; hostIP?: string }[];
    a.find((d) => d.kind === 'HostSubnet')!.hostIP = '192.168.0.99';
    expect(builtinCluster().hostSubnets[0]!.hostIP).toBe(ipv4('192.168.0.40'));
  });

  it('loads the same cluster from its documents written out as multi-document YAML', () => {
    const text = builtinClusterDocuments()
      .map((d) => stringify(d))
      .join('---\n');
    expect(parseClusterDocuments(text, 'builtin.yaml')).toEqual(cluster);
  });
});
