import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cidr, cidrToString, ipv4, ipv4ToString, macToString } from '../../codecs/bytes.js';
import { HostLocalIpam, HostSubnetAllocator } from '../../src/cluster/allocate.js';
import { buildCluster } from '../../src/cluster/build.js';
import { BUILTIN_NODES, builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { ClusterIndex } from '../../src/cluster/cluster-index.js';
import { patchDocuments, withDocuments, withoutDocuments } from '../../src/cluster/edit.js';
import { ConfigError } from '../../src/cluster/errors.js';
import { loadClusterFile, parseClusterDocuments, readClusterObjects } from '../../src/cluster/load.js';
import { formatTable } from '../../src/cluster/tables.js';
import { overlayMtu } from '../../src/cluster/types.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'user-cluster.yaml');

const isLocalUnicast = (m: number): boolean => (Math.floor(m / 2 ** 40) & 0x03) === 0x02;

describe('a user cluster file shaped like `oc get -o yaml` output', () => {
  const cluster = loadClusterFile(FIXTURE);
  const ix = new ClusterIndex(cluster);

  it('reads the ClusterNetwork, underlay and MTUs', () => {
    expect(cluster.network.mode).toBe('multitenant');
    expect(cidrToString(cluster.network.clusterNetwork)).toBe('10.128.0.0/14');
    expect(cluster.network.mtu).toBe(1450); // the Underlay's; the ClusterNetwork's mtu 1400 is the overlay MTU
    expect(overlayMtu(cluster.network)).toBe(1400);
    expect(macToString(cluster.underlay.gatewayMac)).toBe('52:54:00:00:00:01');
  });

  it('allocates missing HostSubnets in the SDN master order, after the given ones', () => {
    // node-a holds 10.128.0.0/23 (subnet #0), so node-b and node-c get #1 and #2: 10.129.0.0/23, 10.130.0.0/23.
    expect(formatTable(cluster, 'hostsubnets')).toBe(
      [
        'NAME     HOST     HOST IP     SUBNET          EGRESS CIDRS        EGRESS IPS',
        'node-a   node-a   10.0.0.11   10.128.0.0/23   ["10.0.0.100/30"]   ["10.0.0.101"]',
        'node-b   node-b   10.0.0.12   10.129.0.0/23',
        'node-c   node-c   10.0.0.13   10.130.0.0/23',
      ].join('\n'),
    );
  });

  it('allocates missing pod IPs like host-local: from .2 up, after the given ones, in file order', () => {
    const ipOf = (ns: string, name: string): string => ipv4ToString(ix.pod(ns, name)!.ip);
    expect(ipOf('frontend', 'web-2')).toBe('10.129.0.2'); // given
    expect(ipOf('frontend', 'web-1')).toBe('10.129.0.3'); // first in the file, but .2 is taken
    expect(ipOf('frontend', 'web-3')).toBe('10.129.0.4');
    expect(ipOf('backend', 'db-0')).toBe('10.130.0.2');
    expect(ipOf('backend', 'egress-router')).toBe('10.128.0.2');
    expect(ipOf('openshift-sdn', 'sdn-x7k2p')).toBe('10.0.0.11'); // hostNetwork: the node's IP
    expect(macToString(ix.pod('frontend', 'web-1')!.mac)).toBe('0a:58:0a:81:00:03');
    expect(ix.pod('backend', 'db-0')!.ports).toEqual([{ protocol: 'TCP', port: 5432 }]);
  });

  it('creates NetNamespaces for namespaces without one, in first-seen order from VNID 10', () => {
    expect(cluster.netNamespaces.map((n) => [n.name, n.netid])).toEqual([
      ['frontend', 100],
      ['backend', 10],
      ['openshift-sdn', 11],
      ['default', 0],
    ]);
    const frontend = ix.netNamespaceByName.get('frontend')!;
    expect(frontend.multicast).toBe(true);
    expect(frontend.namespaceLabels).toEqual({ team: 'web', 'kubernetes.io/metadata.name': 'frontend' });
  });

  it('assigns a namespace egress IP to the node whose egressCIDRs hold it', () => {
    expect(ix.egressNode(ipv4('10.0.0.101'))!.name).toBe('node-a');
    expect(ix.egressNode(ipv4('10.0.0.102'))).toBeUndefined();
  });

  it('reads the egress router settings', () => {
    const r = ix.pod('backend', 'egress-router')!.egressRouter!;
    expect(r.source).toBe(ipv4('10.0.0.99'));
    expect(r.gateway).toBe(ipv4('10.0.0.1'));
    expect(r.destinations).toEqual([
      { port: 80, protocol: 'TCP', ip: ipv4('203.0.113.25') },
      { port: 8080, protocol: 'TCP', ip: ipv4('203.0.113.26'), targetPort: 80 },
      { ip: ipv4('203.0.113.27') },
    ]);
    expect(isLocalUnicast(r.macvlanMac)).toBe(true);
  });

  it('derives endpoints sorted by IP with the target ports', () => {
    const web = ix.endpoints('frontend', 'web')!;
    expect(web.addresses.map((a) => a.pod)).toEqual(['frontend/web-2', 'frontend/web-1', 'frontend/web-3']);
    expect(web.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }]);
    expect(ix.endpoints('backend', 'db')!.ports).toEqual([{ protocol: 'TCP', port: 5432 }]);
    expect(ix.service('backend', 'db')!.ports).toEqual([
      { protocol: 'TCP', port: 5432, targetPort: 5432, nodePort: 30432 },
    ]);
  });

  it('reads policies', () => {
    expect(cluster.egressNetworkPolicies).toEqual([
      {
        namespace: 'backend',
        name: 'default',
        rules: [
          { type: 'Allow', cidrSelector: cidr('203.0.113.0/24') },
          { type: 'Deny', cidrSelector: cidr('0.0.0.0/0') },
        ],
      },
    ]);
    expect(cluster.networkPolicies[0]).toEqual({
      namespace: 'backend',
      name: 'allow-from-web',
      podSelector: { app: 'db' },
      policyTypes: ['Ingress'],
      ingress: [{ peers: [{ namespaceSelector: { team: 'web' } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
      egress: [],
    });
  });

  it('keeps given uids and derives UUID-shaped ones, and derives deterministic MACs', () => {
    expect(ix.node('node-a')!.uid).toBe('1f3c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b');
    expect(ix.node('node-b')!.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ix.node('node-b')!.uid).not.toBe(ix.node('node-c')!.uid);
    for (const h of cluster.hostSubnets) {
      expect(isLocalUnicast(h.nicMac)).toBe(true);
      expect(isLocalUnicast(h.tun0Mac)).toBe(true);
      expect(h.nicMac).not.toBe(h.tun0Mac);
    }
    expect(loadClusterFile(FIXTURE)).toEqual(cluster); // same file, same cluster
  });

  it('loads the same objects from a plain JSON array', () => {
    const json = JSON.stringify(readClusterObjects(readFixture(), 'x').map((o) => o.doc));
    expect(parseClusterDocuments(json, 'cluster.json')).toEqual(cluster);
  });

  it('reads JSON with JSON.parse and leaves what the yaml package refuses to it, errors as before', () => {
    const docs = readClusterObjects(readFixture(), 'x').map((o) => o.doc);
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }, null, 2);
    expect(parseClusterDocuments(list, 'cluster.json')).toEqual(cluster);
    expect(parseClusterDocuments(`\n  ${list}\n`, 'cluster.json')).toEqual(cluster);
    // A key twice: the yaml package's error with its line, not JSON.parse's last-one-wins.
    const twice = list.replace('"kind": "List",', '"kind": "List",\n  "kind": "List",');
    expect(() => parseClusterDocuments(twice, 'c.json')).toThrow(
      /^c\.json:4:3: YAML syntax error: Map keys must be unique$/,
    );
    // Strings holding `:` and escaped quotes do not count as keys.
    const colons = JSON.stringify([
      { ...(docs[0] as object), metadata: { name: 'default', annotations: { 'a.io/x': 'k: \\" v: "w":' } } },
    ]);
    expect(parseClusterDocuments(colons, 'c.json').network.name).toBe('default');
    // Not JSON after all (a YAML flow mapping): the yaml package's reading.
    expect(() => parseClusterDocuments('{kind: Pod', 'c.json')).toThrow(ConfigError);
  });

  it('names objects in errors by kind and name, or by document and item before the name is known', () => {
    const nameless = readFixture().replace('  metadata:\n    name: node-b\n', '  metadata: {}\n');
    expect(() => parseClusterDocuments(nameless, 'c.yaml')).toThrow(
      'c.yaml: document 2 items[1] (HostSubnet): metadata.name: required field is missing (expected a DNS-1123 name like sqlapi-1-8jgx8)',
    );
    const text = readFixture().replace('  host: node-b\n', '  host: node-b\n  bogus: 1\n');
    expect(() => parseClusterDocuments(text, 'c.yaml')).toThrow(
      'c.yaml: HostSubnet node-b: bogus: unknown field (expected one of: apiVersion, kind, metadata, host, hostIP, subnet, egressIPs, egressCIDRs)',
    );
    const text2 = readFixture().replace('  - CIDR: 10.128.0.0/14', '  - CIDR: 10.128.0.0/33');
    expect(() => parseClusterDocuments(text2, 'c.yaml')).toThrow(
      'c.yaml: ClusterNetwork default: clusterNetworks[0].CIDR: "10.128.0.0/33" is not an IPv4 CIDR (expected a.b.c.d/n, like 10.128.0.0/14)',
    );
  });
});

function readFixture(): string {
  return readFileSync(FIXTURE, 'utf8');
}

describe('defaults', () => {
  it('uses the 4.x defaults and a /24 underlay around the nodes when the file gives neither', () => {
    const c = parseClusterDocuments('kind: HostSubnet\nmetadata: {name: n1}\nhost: n1\nhostIP: 172.16.5.7\n', 'c.yaml');
    expect(cidrToString(c.network.clusterNetwork)).toBe('10.128.0.0/14');
    expect(cidrToString(c.network.serviceNetwork)).toBe('172.30.0.0/16');
    expect(c.network.mode).toBe('networkpolicy');
    expect(c.network.mtu).toBe(1500);
    expect(cidrToString(c.underlay.cidr)).toBe('172.16.5.0/24');
    expect(ipv4ToString(c.underlay.gateway)).toBe('172.16.5.1');
    expect(cidrToString(c.hostSubnets[0]!.subnet)).toBe('10.128.0.0/23');
    expect(c.netNamespaces).toEqual([
      {
        name: 'default',
        netid: 0,
        egressIPs: [],
        multicast: false,
        namespaceLabels: { 'kubernetes.io/metadata.name': 'default' },
      },
    ]);
  });
});

describe('HostSubnetAllocator', () => {
  it('rotates subnet numbers so the shared octet fills last (10.128.0.0/14, hostSubnetLength 9)', () => {
    // Order from openshift-sdn.md §2 (derived from subnet_allocator.go): leftShift 7, rightShift 2.
    const a = new HostSubnetAllocator(cidr('10.128.0.0/14'), 9);
    const got = Array.from({ length: 8 }, () => cidrToString(a.allocate()!));
    expect(got).toEqual([
      '10.128.0.0/23',
      '10.129.0.0/23',
      '10.130.0.0/23',
      '10.131.0.0/23',
      '10.128.2.0/23',
      '10.129.2.0/23',
      '10.130.2.0/23',
      '10.131.2.0/23',
    ]);
  });

  it('follows the example in the allocator source comment (10.1.0.0/16, hostBits 6)', () => {
    // "we first allocate 10.1.0.0/26, 10.1.1.0/26, etc, through 10.1.255.0/26 ... then 10.1.0.64/26, 10.1.1.64/26"
    const a = new HostSubnetAllocator(cidr('10.1.0.0/16'), 6);
    expect([0, 1, 255, 256, 257].map((n) => cidrToString(a.subnetAt(n)))).toEqual([
      '10.1.0.0/26',
      '10.1.1.0/26',
      '10.1.255.0/26',
      '10.1.0.64/26',
      '10.1.1.64/26',
    ]);
  });

  it('does not rotate when host bits fill whole octets', () => {
    const a = new HostSubnetAllocator(cidr('10.1.0.0/16'), 8);
    expect([0, 1, 2].map((n) => cidrToString(a.subnetAt(n)))).toEqual(['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24']);
  });

  it('skips taken subnets and reports a full network', () => {
    const a = new HostSubnetAllocator(cidr('10.0.0.0/22'), 9); // two /23s
    a.markTaken(cidr('10.0.0.0/23'));
    expect(cidrToString(a.allocate()!)).toBe('10.0.2.0/23');
    expect(a.allocate()).toBeUndefined();
  });

  it("reproduces the article's subnets when the ARO nodes register in the order master-1, master-0, master-2, worker 1, 3, 2", () => {
    const docs = builtinClusterDocuments().map((d) => {
      const x = d as { kind: string; subnet?: string };
      if (x.kind === 'HostSubnet') delete x.subnet;
      return d;
    });
    const { MASTER_0, MASTER_1, MASTER_2, WORKER_1, WORKER_2, WORKER_3 } = BUILTIN_NODES;
    const order = [MASTER_1, MASTER_0, MASTER_2, WORKER_1, WORKER_3, WORKER_2];
    const nodeDocs = order.map(
      (n) =>
        docs.find(
          (d) =>
            (d as { metadata?: { name?: string } }).metadata?.name === n &&
            (d as { kind: string }).kind === 'HostSubnet',
        )!,
    );
    const rest = docs.filter((d) => !nodeDocs.includes(d));
    const c = buildCluster([...nodeDocs, ...rest], 'registration-order');
    const subnets = Object.fromEntries(c.hostSubnets.map((h) => [h.name, cidrToString(h.subnet)]));
    expect(subnets).toEqual({
      [MASTER_0]: '10.129.0.0/23',
      [MASTER_1]: '10.128.0.0/23',
      [MASTER_2]: '10.130.0.0/23',
      [WORKER_1]: '10.131.0.0/23',
      [WORKER_2]: '10.129.2.0/23',
      [WORKER_3]: '10.128.2.0/23',
    });
  });
});

describe('HostLocalIpam', () => {
  it('starts at .2, skips reserved addresses, moves forward and stops when full', () => {
    const ipam = new HostLocalIpam(cidr('10.0.0.0/29')); // .2 .. .6 usable
    ipam.reserve(ipv4('10.0.0.3'));
    const got = Array.from({ length: 5 }, () => ipam.allocate());
    expect(got.map((a) => (a === undefined ? undefined : ipv4ToString(a)))).toEqual([
      '10.0.0.2',
      '10.0.0.4',
      '10.0.0.5',
      '10.0.0.6',
      undefined,
    ]);
  });
});

describe('cluster editing for scenarios', () => {
  const deepFreeze = <T>(o: T): T => {
    if (typeof o === 'object' && o !== null) {
      Object.freeze(o);
      for (const v of Object.values(o)) deepFreeze(v);
    }
    return o;
  };

  it('withDocuments replaces by kind/namespace/name in place, appends new ones and leaves its inputs alone', () => {
    const base = deepFreeze(builtinClusterDocuments());
    const before = JSON.stringify(base);
    const extra = deepFreeze([
      {
        apiVersion: 'network.openshift.io/v1',
        kind: 'NetNamespace',
        metadata: { name: 'project1' },
        netname: 'project1',
        netid: 5999645,
        egressIPs: ['192.168.0.100'],
      },
      {
        kind: 'HostSubnet',
        metadata: { name: BUILTIN_NODES.WORKER_1 },
        host: BUILTIN_NODES.WORKER_1,
        hostIP: '192.168.0.4',
        subnet: '10.131.0.0/23',
        egressIPs: ['192.168.0.100'],
      },
      {
        kind: 'EgressNetworkPolicy',
        metadata: { namespace: 'project1', name: 'default' },
        spec: { egress: [{ type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } }] },
      },
    ]);
    const edited = withDocuments(base, extra);
    expect(JSON.stringify(base)).toBe(before);
    expect(edited).toHaveLength(base.length + 1);
    const c = buildCluster(edited, 'edited');
    const ix = new ClusterIndex(c);
    expect(ix.netNamespaceByName.get('project1')!.egressIPs).toEqual([ipv4('192.168.0.100')]);
    expect(ix.egressNode(ipv4('192.168.0.100'))!.name).toBe(BUILTIN_NODES.WORKER_1);
    expect(c.egressNetworkPolicies).toHaveLength(1);
    expect(c.hostSubnets.map((h) => h.name)).toEqual(buildCluster(base, 'base').hostSubnets.map((h) => h.name)); // order kept
    // the edited copy is independent of the inputs
    (edited[0] as { mtu: number }).mtu = 9000;
    expect(JSON.stringify(base)).toBe(before);
  });

  it('patchDocuments merges like `oc patch --type=merge` and refuses a missing target', () => {
    const base = deepFreeze(builtinClusterDocuments());
    const before = JSON.stringify(base);
    const patched = patchDocuments(base, [
      { kind: 'NetNamespace', metadata: { name: 'kuard1' }, egressIPs: ['192.168.0.101'] },
      { kind: 'HostSubnet', metadata: { name: BUILTIN_NODES.WORKER_2 }, egressCIDRs: ['192.168.0.96/28'] },
    ]);
    expect(JSON.stringify(base)).toBe(before);
    const ix = new ClusterIndex(buildCluster(patched, 'patched'));
    expect(ix.netNamespaceByName.get('kuard1')!.netid).toBe(3826128); // untouched fields stay
    expect(ix.egressNode(ipv4('192.168.0.101'))!.name).toBe(BUILTIN_NODES.WORKER_2); // automatic assignment
    expect(() => patchDocuments(base, [{ kind: 'NetNamespace', metadata: { name: 'nope' }, netid: 10 }])).toThrow(
      ConfigError,
    );
  });

  it('withoutDocuments drops by key', () => {
    const base = builtinClusterDocuments();
    const less = withoutDocuments(base, ['ExternalHost external']);
    expect(less).toHaveLength(base.length - 1);
    expect(buildCluster(less, 'x').externalHosts).toEqual([]);
  });
});

describe('tables of a huge cluster', () => {
  it('lays out 700,000 rows without overflowing the call stack', async () => {
    const { tabulate } = await import('../../src/cluster/tables.js');
    const rows = [['NAME', 'NETID'], ...Array.from({ length: 700_000 }, (_, i) => [`ns-${i}`, String(i)])];
    const text = tabulate(rows);
    expect(text.split('\n')).toHaveLength(700_001);
    expect(text.startsWith('NAME        NETID\nns-0        0\n')).toBe(true);
  });
});
