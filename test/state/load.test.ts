import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { ConfigError } from '../../src/cluster/errors.js';
import { parseConntrackList } from '../../src/state/conntrack-text.js';
import { parseDumpFlows, parseDumpGroups, parseIpAddrs, parseIpRoutes } from '../../src/state/node-files.js';
import { loadStateDir } from '../../src/state/state-dir.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'pw-state-'));
  dirs.push(d);
  return d;
}

describe('state directory objects', () => {
  it('finds YAML anywhere (inspect trees, typed lists, List), keeps known kinds, ignores the rest, dedups', () => {
    const d = tmp();
    const docs = builtinClusterDocuments() as { kind: string }[];
    const pods = docs.filter((x) => x.kind === 'Pod');
    const rest = docs.filter((x) => x.kind !== 'Pod');
    mkdirSync(join(d, 'inspect/namespaces/project1/core'), { recursive: true });
    writeFileSync(
      join(d, 'inspect/namespaces/project1/core/pods.yaml'),
      stringify({ apiVersion: 'v1', kind: 'PodList', items: pods }),
    );
    // The same pods again one by one (oc adm inspect writes both), plus a finished pod.
    writeFileSync(join(d, 'inspect/pod0.yaml'), stringify(pods[0]));
    writeFileSync(
      join(d, 'inspect/done.yaml'),
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { namespace: 'project1', name: 'job-x' },
        spec: { nodeName: 'aro2-p8bjm-master-0', containers: [{ name: 'c' }] },
        status: { phase: 'Succeeded' },
      }),
    );
    writeFileSync(
      join(d, 'all.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [...rest, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', namespace: 'y' } }],
      }),
    );
    const s = loadStateDir(d);
    expect(s.objects.kinds.get('Pod')).toBe(pods.length);
    expect(s.objects.duplicates).toBe(1);
    expect(s.objects.ignored.get('Deployment')).toBe(1);
    expect(s.objects.skippedPods).toEqual(['project1/job-x (phase Succeeded)']);
    expect(s.cluster.hostSubnets).toHaveLength(6);
    expect(s.nodeDirs).toEqual([]);
    expect(s.notes.join('\n')).toMatch(/no dumps for 6 node/);
  });

  it('a node folder without a HostSubnet, and a directory without HostSubnets, are errors', () => {
    const d = tmp();
    writeFileSync(join(d, 'c.yaml'), stringify({ apiVersion: 'v1', kind: 'List', items: builtinClusterDocuments() }));
    mkdirSync(join(d, 'nodes/ghost'), { recursive: true });
    expect(() => loadStateDir(d)).toThrow(/nodes\/ghost: no HostSubnet for node "ghost"/);
    const e = tmp();
    writeFileSync(join(e, 'x.yaml'), 'kind: Deployment\nmetadata: {name: a}\n');
    expect(() => loadStateDir(e)).toThrow(ConfigError);
  });
});

describe('node dumps as the real tools print them', () => {
  it('dump-flows of OVS 2.9 and 3.1 (stats, idle_age, reset_counts, load/set_field/move)', () => {
    const text = [
      'NXST_FLOW reply (xid=0x4):',
      ' cookie=0x0, duration=4406.433s, table=0, n_packets=0, n_bytes=0, idle_age=4406, priority=250,ip,in_port=2,nw_dst=224.0.0.0/4 actions=drop',
      ' cookie=0x9c5fa2a2, duration=1.2s, table=10, n_packets=9, n_bytes=378, reset_counts idle_age=3, hard_age=65534, priority=100,tun_src=192.168.0.5 actions=goto_table:30',
      ' cookie=0x0, duration=0.081s, table=90, n_packets=0, n_bytes=0, priority=100,ip,nw_dst=10.129.0.0/23 actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:192.168.0.40->tun_dst,output:1',
      ' cookie=0x0, duration=1s, table=70, n_packets=0, n_bytes=0, priority=100,ip,nw_dst=10.131.0.40 actions=load:0x5b8c1d->NXM_NX_REG1[],load:0x3->NXM_NX_REG2[],goto_table:80',
      ' cookie=0x0, duration=1s, table=111, n_packets=0, n_bytes=0, priority=100 actions=learn(table=5,NXM_OF_VLAN_TCI[0..11]),goto_table:120',
    ].join('\n');
    const un: string[] = [];
    const flows = parseDumpFlows(text, 'nodes/w/dump-flows.txt', un);
    expect(flows.map((f) => [f.spec.table, f.spec.priority, f.line])).toEqual([
      [0, 250, 2],
      [10, 100, 3],
      [90, 100, 4],
      [70, 100, 5],
      [111, 100, 6],
    ]);
    expect(flows[1]!.spec.cookie).toBe(0x9c5fa2a2n);
    expect(un).toEqual(['table=111,priority=100 actions=learn(table=5,NXM_OF_VLAN_TCI[0..11]),goto_table:120']);
  });

  it('a line that cannot be understood names the file and line', () => {
    expect(() =>
      parseDumpFlows(
        'OFPST_FLOW reply (OF1.3) (xid=0x2):\n table=0, priority=x actions=drop\n',
        'nodes/w/dump-flows.txt',
      ),
    ).toThrow(/^nodes\/w\/dump-flows.txt:2:\d+: invalid priority/);
    expect(() => parseDumpGroups(' group_id=1,type=bogus\n', 'g.txt')).toThrow(/^g.txt:1:/);
  });

  it('conntrack -L lines, NATed reply tuples, the stderr summary', () => {
    const [e] = parseConntrackList(
      'tcp      6 431999 ESTABLISHED src=10.131.0.40 dst=172.30.72.7 sport=41000 dport=1433 src=10.128.2.24 dst=10.131.0.40 sport=1433 dport=41000 [ASSURED] mark=0 secctx=system_u:object_r:unlabeled_t:s0 use=1\nconntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n',
      'c.txt',
    );
    expect(e!.tcpState).toBe(3);
    expect(e!.assured).toBe(true);
    expect(e!.reply.src).toBe(0x0a800218);
    expect(() => parseConntrackList('tcp 6 10 BOGUS src=1.2.3.4\n', 'c.txt')).toThrow(/c.txt:1:1: unknown TCP state/);
  });

  it('ip -j route and ip -j addr as iproute2 6.1 prints them', () => {
    const routes = parseIpRoutes(
      '[{"dst":"default","gateway":"10.1.0.1","dev":"v0","flags":[]},{"dst":"10.2.0.0/16","gateway":"10.1.0.1","dev":"v0","flags":[],"metrics":[{"mtu":1400}]},{"type":"local","dst":"10.1.0.2","dev":"v0","table":"local","protocol":"kernel","scope":"host","prefsrc":"10.1.0.2","flags":[]},{"dst":"fe80::/64","dev":"v0","protocol":"kernel","metric":256,"flags":[],"pref":"medium"}]',
      'r.json',
    );
    expect(routes.map((r) => r.text)).toEqual([
      'default via 10.1.0.1 dev v0',
      '10.2.0.0/16 via 10.1.0.1 dev v0 mtu 1400',
    ]);
    const ifs = parseIpAddrs(
      '[{"ifindex":3,"ifname":"v0","mtu":1500,"address":"3a:3a:c6:b0:42:2f","addr_info":[{"family":"inet","local":"10.1.0.2","prefixlen":24,"scope":"global","label":"v0"},{"family":"inet6","local":"fe80::1","prefixlen":64}]}]',
      'a.json',
    );
    expect(ifs[0]!.addrs).toEqual([{ ip: 0x0a010002, prefix: 24, label: 'v0' }]);
    expect(() => parseIpRoutes('{', 'r.json')).toThrow(/^r.json: not JSON/);
  });
});
