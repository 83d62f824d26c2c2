/**
 * Cross-check against real Open vSwitch: load each node's generated flows and groups into a private userspace
 * ovs-vswitchd (dummy datapath, no kernel module) and require `dump-flows` / `dump-groups` to print exactly our
 * text. This proves the text is loadable and already in OVS's normal form. Skips when Open vSwitch is missing.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidr, ipv4 } from '../../codecs/bytes.js';
import type { Cluster, PluginMode } from '../../src/cluster/types.js';
import { assignPodPorts, generateNodeFlows } from '../../src/ovs/openshift-flows.js';
import { ENP1_RULES, hostSubnet, makeCluster, netNamespace, pod } from './openshift-flows-fixtures.js';

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const TOOLS = ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl', 'ovs-appctl'];

function runs(cmd: string): boolean {
  try {
    return spawnSync(cmd, ['--version'], { encoding: 'utf8', timeout: 10_000 }).status === 0;
  } catch {
    return false;
  }
}

const hasOvs = TOOLS.every(runs) && existsSync(SCHEMA);
if (!hasOvs)
  console.log('Open vSwitch (ovs-vswitchd, ovsdb-server, ovs-ofctl) not installed: skipping the real-OVS flow checks');

/** Three nodes, every feature: egress IP held by node2 (local there, remote elsewhere), one held by nobody. */
function threeNodeCluster(mode: PluginMode): Cluster {
  return makeCluster(mode, {
    hostSubnets: [
      hostSubnet('node0', '172.17.0.4', '10.128.0.0/23'),
      hostSubnet('node1', '10.0.123.45', '10.128.2.0/23'),
      hostSubnet('node2', '10.0.45.123', '10.129.0.0/23', ['10.0.45.200']),
    ],
    netNamespaces: [
      netNamespace('default', 0),
      netNamespace('ns1', 42, { egressIPs: [ipv4('10.0.45.200')] }),
      netNamespace('other', 43),
      netNamespace('mcast', 99, { multicast: true }),
      netNamespace('stranded', 37, { egressIPs: [ipv4('10.9.9.9')] }),
    ],
    pods: [
      pod('default', 'host', 'node0', '172.17.0.4', {}, true),
      pod('ns1', 'db', 'node0', '10.128.0.2', { app: 'db' }),
      pod('ns1', 'web', 'node0', '10.128.0.3', { app: 'web' }),
      pod('mcast', 'm1', 'node0', '10.128.0.4'),
      pod('mcast', 'm2', 'node1', '10.128.2.2'),
      pod('other', 'cli', 'node1', '10.128.2.3', { app: 'cli' }),
      pod('ns1', 'web2', 'node2', '10.129.0.2', { app: 'web' }),
      pod('stranded', 's1', 'node2', '10.129.0.3'),
      pod('default', 'router', 'node2', '10.129.0.4'),
    ],
    egressNetworkPolicies: [
      { namespace: 'ns1', name: 'enp1', rules: ENP1_RULES },
      { namespace: 'other', name: 'deny', rules: [{ type: 'Deny', cidrSelector: cidr('0.0.0.0/0') }] },
    ],
    networkPolicies: [
      {
        namespace: 'ns1',
        name: 'db',
        podSelector: { app: 'db' },
        policyTypes: ['Ingress'],
        ingress: [
          { peers: [{ podSelector: { app: 'web' } }], ports: [{ protocol: 'TCP', port: 5432 }] },
          { peers: [{ namespaceSelector: { 'kubernetes.io/metadata.name': 'other' } }], ports: [] },
          {
            peers: [{ ipBlock: { cidr: cidr('10.0.0.0/8'), except: [cidr('10.1.0.0/16')] } }],
            ports: [{ protocol: 'UDP', port: 53 }],
          },
        ],
        egress: [],
      },
      {
        namespace: 'ns1',
        name: 'web-egress',
        podSelector: { app: 'web' },
        policyTypes: ['Egress'],
        ingress: [],
        egress: [
          {
            peers: [{ namespaceSelector: { 'kubernetes.io/metadata.name': 'other' } }, { podSelector: {} }],
            ports: [],
          },
        ],
      },
      {
        namespace: 'other',
        name: 'deny-all',
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        egress: [],
      },
    ],
  });
}

/** A private ovsdb-server + ovs-vswitchd in one temp directory; stop() ends exactly those two processes. */
class PrivateOvs {
  readonly dir = mkdtempSync(join(tmpdir(), 'packetwalk-osdn-flows-'));
  private readonly env = { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir };
  readonly mgmt = `unix:${join(this.dir, 'br0.mgmt')}`;

  run(cmd: string, args: string[], input?: string): string {
    const r = spawnSync(cmd, args, { encoding: 'utf8', env: this.env, input, timeout: 30_000 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  start(podPorts: number): void {
    const d = this.dir;
    const db = `unix:${join(d, 'db.sock')}`;
    this.run('ovsdb-tool', ['create', join(d, 'conf.db'), SCHEMA]);
    this.run('ovsdb-server', [
      join(d, 'conf.db'),
      `--remote=punix:${join(d, 'db.sock')}`,
      `--unixctl=${join(d, 'ovsdb-server.ctl')}`,
      `--pidfile=${join(d, 'ovsdb-server.pid')}`,
      `--log-file=${join(d, 'ovsdb-server.log')}`,
      '--detach',
      '--no-chdir',
      '-vconsole:off',
    ]);
    this.run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'init']);
    // --enable-dummy (not =override) keeps vxlan0 a real tunnel port; --disable-system: no kernel datapath.
    this.run('ovs-vswitchd', [
      db,
      '--enable-dummy',
      '--disable-system',
      '--disable-system-route',
      `--unixctl=${join(d, 'ovs-vswitchd.ctl')}`,
      `--pidfile=${join(d, 'ovs-vswitchd.pid')}`,
      `--log-file=${join(d, 'ovs-vswitchd.log')}`,
      '--detach',
      '--no-chdir',
      '-vconsole:off',
    ]);
    const args = [
      `--db=${db}`,
      '--timeout=30',
      '--',
      'add-br',
      'br0',
      '--',
      'set',
      'Bridge',
      'br0',
      'datapath_type=dummy',
      'fail_mode=secure',
      'protocols=OpenFlow13',
      '--',
      'add-port',
      'br0',
      'vxlan0',
      '--',
      'set',
      'Interface',
      'vxlan0',
      'type=vxlan',
      'options:remote_ip=flow',
      'options:key=flow',
      'ofport_request=1',
      '--',
      'add-port',
      'br0',
      'tun0',
      '--',
      'set',
      'Interface',
      'tun0',
      'type=internal',
      'ofport_request=2',
    ];
    for (let p = 3; p < 3 + podPorts; p++)
      args.push(
        '--',
        'add-port',
        'br0',
        `veth${p}`,
        '--',
        'set',
        'Interface',
        `veth${p}`,
        'type=dummy',
        `ofport_request=${p}`,
      );
    this.run('ovs-vsctl', args);
  }

  /** Replace br0's flows and groups with ours, then return what OVS dumps in our line form. */
  load(flows: string[], groups: string[]): { flows: string[]; groups: string[] } {
    const of = (args: string[], input?: string): string =>
      this.run('ovs-ofctl', ['-O', 'OpenFlow13', '--timeout=30', ...args], input);
    of(['del-flows', this.mgmt]);
    of(['del-groups', this.mgmt]);
    if (groups.length > 0) of(['add-groups', this.mgmt, '-'], `${groups.join('\n')}\n`);
    of(['add-flows', this.mgmt, '-'], `${flows.join('\n')}\n`);
    const dumped = of(['dump-flows', this.mgmt, '--no-stats'])
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('OFPST_'))
      // OVS leaves out `table=0, `; our lines always carry it.
      .map((l) => l.trim())
      .map((l) => (/(^|, )table=\d+, /.test(l) ? l : l.replace(/^(cookie=0x[0-9a-f]+, )?/, '$1table=0, ')));
    const dumpedGroups = of(['dump-groups', this.mgmt])
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('OFPST_'))
      .map((l) => l.trim());
    return { flows: dumped, groups: dumpedGroups };
  }

  private pid(daemon: string): number | undefined {
    const file = join(this.dir, `${daemon}.pid`);
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  private static alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    // A zombie (exited, not yet reaped by init) counts as gone.
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  }

  /** Ask each daemon we started to exit, then TERM/KILL that pid only if it is still there; remove the directory. */
  stop(): void {
    for (const daemon of ['ovs-vswitchd', 'ovsdb-server']) {
      const pid = this.pid(daemon);
      if (pid === undefined) continue;
      spawnSync('ovs-appctl', ['-t', join(this.dir, `${daemon}.ctl`), '--timeout=5', 'exit'], {
        env: this.env,
        timeout: 10_000,
      });
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        const deadline = Date.now() + 2000;
        while (PrivateOvs.alive(pid) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
        if (!PrivateOvs.alive(pid)) break;
        // Only our pid, and only if its command line still names our directory.
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmdline.includes(this.dir)) process.kill(pid, signal);
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasOvs)('generated flows load into real Open vSwitch unchanged', () => {
  let ovs: PrivateOvs | undefined;
  beforeAll(() => {
    ovs = new PrivateOvs();
    try {
      ovs.start(4);
    } catch (e) {
      ovs.stop();
      ovs = undefined;
      throw e;
    }
  }, 30_000);
  afterAll(() => ovs?.stop(), 30_000);

  for (const mode of ['subnet', 'multitenant', 'networkpolicy'] as const) {
    for (const node of ['node0', 'node1', 'node2']) {
      it(`${mode} ${node}: dump-flows and dump-groups print exactly our text`, () => {
        const c = threeNodeCluster(mode);
        const ours = generateNodeFlows(c, node, assignPodPorts(c, node));
        const dumped = ovs!.load(ours.flows, ours.groups);
        // OVS's dump order is its classifier's, so compare as sorted lists; the count catches merged duplicates.
        expect(dumped.flows.length).toBe(ours.flows.length);
        expect([...dumped.flows].sort()).toEqual([...ours.flows].sort());
        expect([...dumped.groups].sort()).toEqual([...ours.groups].sort());
      });
    }
  }

  it('the three-node cluster exercises groups of both kinds and NetworkPolicy flows', () => {
    const c = threeNodeCluster('networkpolicy');
    const g0 = generateNodeFlows(c, 'node0', assignPodPorts(c, 'node0'));
    const g2 = generateNodeFlows(c, 'node2', assignPodPorts(c, 'node2'));
    expect(g0.groups.join()).toContain('set_field:10.0.45.123->tun_dst');
    expect(g2.groups.join()).toContain('->pkt_mark,output:2');
    expect(g0.flows.some((l) => l.includes('table=80, priority=150,'))).toBe(true);
    expect(g0.flows.some((l) => l.includes('table=27, priority=150,'))).toBe(true);
  });
});
