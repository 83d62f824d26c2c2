import { describe, expect, it } from 'vitest';
import { cidr, ipv4 } from '../../codecs/bytes.js';
import type { Cluster, NetworkPolicy } from '../../src/cluster/types.js';
import { assignPodPorts, egressMark, generateNodeFlows } from '../../src/ovs/openshift-flows.js';
import { cidrMinus } from '../../src/ovs/openshift-netpol.js';
import { hostSubnet, makeCluster, netNamespace, pod, referenceCluster, TUN0_MAC } from './openshift-flows-fixtures.js';

/** Flows of one table, in generated order. */
function table(lines: string[], n: number): string[] {
  return lines.filter((l) => new RegExp(`(^|, )table=${n}, `).test(l));
}

function flowsOf(c: Cluster, node = 'node0'): { flows: string[]; groups: string[] } {
  return generateNodeFlows(c, node, assignPodPorts(c, node));
}

/** Expected lines written as a block, one per line, indentation ignored. */
function lines(block: string): string[] {
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

const TO_10 = 'move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10';
const VIA = (ip: string): string => `move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:${ip}->tun_dst,output:1`;

// The research sheet's flows (§1, from openshift/sdn's ovscontroller_test.go expectedFlows) rewritten by hand in
// the form ovs-ofctl dump-flows prints: fields in OVS order, hex registers and loads, no /32, cookie unpadded.
// Extra lines for the fixture's other nodes and pods are computed by hand (cookies: `printf node2UID | sha256sum`).
const REFERENCE: Record<number, string[]> = {
  0: lines(`
    table=0, priority=1000,ct_state=-trk,ip actions=ct(table=0)
    table=0, priority=400,ip,in_port=2,nw_src=10.128.0.1 actions=goto_table:30
    table=0, priority=300,ip,in_port=2,nw_src=10.128.0.0/23,nw_dst=10.128.0.0/14 actions=goto_table:25
    table=0, priority=250,ip,in_port=2,nw_dst=224.0.0.0/4 actions=drop
    table=0, priority=200,arp,in_port=1,arp_spa=10.128.0.0/14,arp_tpa=10.128.0.0/23 actions=${TO_10}
    table=0, priority=200,ip,in_port=1,nw_src=10.128.0.0/14 actions=${TO_10}
    table=0, priority=200,ip,in_port=1,nw_dst=10.128.0.0/14 actions=${TO_10}
    table=0, priority=200,arp,in_port=2,arp_spa=10.128.0.1,arp_tpa=10.128.0.0/14 actions=goto_table:30
    table=0, priority=200,ip,in_port=2 actions=goto_table:30
    table=0, priority=150,in_port=1 actions=drop
    table=0, priority=150,in_port=2 actions=drop
    table=0, priority=100,arp actions=goto_table:20
    table=0, priority=100,ip actions=goto_table:20
    table=0, priority=0 actions=drop`),
  10: lines(`
    cookie=0xf46ee1a, table=10, priority=100,tun_src=10.0.123.45 actions=goto_table:30
    cookie=0xb11181d5, table=10, priority=100,tun_src=10.0.45.123 actions=goto_table:30
    cookie=0xd91fa564, table=10, priority=100,tun_src=10.0.12.34 actions=goto_table:30
    table=10, priority=0 actions=drop`),
  20: lines(`
    table=20, priority=300,udp,tp_dst=4789 actions=drop
    table=20, priority=100,arp,in_port=3,arp_spa=10.128.0.2,arp_sha=00:00:0a:80:00:02/00:00:ff:ff:ff:ff actions=load:0x2a->NXM_NX_REG0[],goto_table:30
    table=20, priority=100,ip,in_port=3,nw_src=10.128.0.2 actions=load:0x2a->NXM_NX_REG0[],goto_table:27
    table=20, priority=100,arp,in_port=4,arp_spa=10.128.0.3,arp_sha=00:00:0a:80:00:03/00:00:ff:ff:ff:ff actions=load:0x63->NXM_NX_REG0[],goto_table:30
    table=20, priority=100,ip,in_port=4,nw_src=10.128.0.3 actions=load:0x63->NXM_NX_REG0[],goto_table:27
    table=20, priority=100,arp,in_port=5,arp_spa=10.128.0.4,arp_sha=00:00:0a:80:00:04/00:00:ff:ff:ff:ff actions=load:0x63->NXM_NX_REG0[],goto_table:30
    table=20, priority=100,ip,in_port=5,nw_src=10.128.0.4 actions=load:0x63->NXM_NX_REG0[],goto_table:27
    table=20, priority=100,arp,in_port=6,arp_spa=10.128.0.5,arp_sha=00:00:0a:80:00:05/00:00:ff:ff:ff:ff actions=load:0x63->NXM_NX_REG0[],goto_table:30
    table=20, priority=100,ip,in_port=6,nw_src=10.128.0.5 actions=load:0x63->NXM_NX_REG0[],goto_table:27
    table=20, priority=0 actions=drop`),
  25: lines(`
    table=25, priority=100,ip,nw_src=10.128.0.2 actions=load:0x2a->NXM_NX_REG0[],goto_table:27
    table=25, priority=100,ip,nw_src=10.128.0.3 actions=load:0x63->NXM_NX_REG0[],goto_table:27
    table=25, priority=100,ip,nw_src=10.128.0.4 actions=load:0x63->NXM_NX_REG0[],goto_table:27
    table=25, priority=100,ip,nw_src=10.128.0.5 actions=load:0x63->NXM_NX_REG0[],goto_table:27
    table=25, priority=0 actions=drop`),
  27: lines(`
    table=27, priority=500 actions=goto_table:30
    table=27, priority=0 actions=drop`),
  30: lines(`
    table=30, priority=0 actions=goto_table:31`),
  31: lines(`
    table=31, priority=300,arp,arp_tpa=10.128.0.1 actions=output:2
    table=31, priority=300,ip,nw_dst=10.128.0.1 actions=output:2
    table=31, priority=250,ct_state=+rpl,ip,nw_dst=10.128.0.0/23 actions=ct(table=70,nat)
    table=31, priority=200,arp,arp_tpa=10.128.0.0/23 actions=goto_table:40
    table=31, priority=200,ip,nw_dst=10.128.0.0/23 actions=goto_table:70
    table=31, priority=100,arp,arp_tpa=10.128.0.0/14 actions=goto_table:50
    table=31, priority=100,ip,nw_dst=172.30.0.0/16 actions=goto_table:60
    table=31, priority=100,ip,nw_dst=10.128.0.0/14 actions=goto_table:90
    table=31, priority=50,ip,in_port=1,nw_dst=224.0.0.0/4 actions=goto_table:120
    table=31, priority=25,ip,nw_dst=224.0.0.0/4 actions=goto_table:110
    table=31, priority=0,ip actions=goto_table:99
    table=31, priority=0,arp actions=drop`),
  40: lines(`
    table=40, priority=100,arp,arp_tpa=10.128.0.2 actions=output:3
    table=40, priority=100,arp,arp_tpa=10.128.0.3 actions=output:4
    table=40, priority=100,arp,arp_tpa=10.128.0.4 actions=output:5
    table=40, priority=100,arp,arp_tpa=10.128.0.5 actions=output:6
    table=40, priority=0 actions=drop`),
  50: lines(`
    cookie=0xf46ee1a, table=50, priority=100,arp,arp_tpa=10.128.2.0/23 actions=${VIA('10.0.123.45')}
    cookie=0xb11181d5, table=50, priority=100,arp,arp_tpa=10.129.0.0/23 actions=${VIA('10.0.45.123')}
    cookie=0xd91fa564, table=50, priority=100,arp,arp_tpa=10.130.0.0/23 actions=${VIA('10.0.12.34')}
    table=50, priority=0 actions=drop`),
  60: lines(`
    table=60, priority=200 actions=output:2`),
  70: lines(`
    table=70, priority=100,ip,nw_dst=10.128.0.2 actions=load:0x2a->NXM_NX_REG1[],load:0x3->NXM_NX_REG2[],goto_table:80
    table=70, priority=100,ip,nw_dst=10.128.0.3 actions=load:0x63->NXM_NX_REG1[],load:0x4->NXM_NX_REG2[],goto_table:80
    table=70, priority=100,ip,nw_dst=10.128.0.4 actions=load:0x63->NXM_NX_REG1[],load:0x5->NXM_NX_REG2[],goto_table:80
    table=70, priority=100,ip,nw_dst=10.128.0.5 actions=load:0x63->NXM_NX_REG1[],load:0x6->NXM_NX_REG2[],goto_table:80
    table=70, priority=0 actions=drop`),
  80: lines(`
    table=80, priority=300,ip,nw_src=10.128.0.1 actions=output:NXM_NX_REG2[]
    table=80, priority=200,reg0=0 actions=output:NXM_NX_REG2[]
    table=80, priority=200,reg1=0 actions=output:NXM_NX_REG2[]
    table=80, priority=100,reg0=0x2a,reg1=0x2a actions=output:NXM_NX_REG2[]
    table=80, priority=100,reg0=0x63,reg1=0x63 actions=output:NXM_NX_REG2[]
    table=80, priority=0 actions=drop`),
  90: lines(`
    cookie=0xf46ee1a, table=90, priority=100,ip,nw_dst=10.128.2.0/23 actions=${VIA('10.0.123.45')}
    cookie=0xb11181d5, table=90, priority=100,ip,nw_dst=10.129.0.0/23 actions=${VIA('10.0.45.123')}
    cookie=0xd91fa564, table=90, priority=100,ip,nw_dst=10.130.0.0/23 actions=${VIA('10.0.12.34')}
    table=90, priority=0 actions=drop`),
  99: lines(`
    table=99, priority=200,tcp,nw_dst=172.17.0.4,tp_dst=53 actions=output:2
    table=99, priority=200,udp,nw_dst=172.17.0.4,tp_dst=53 actions=output:2
    table=99, priority=0 actions=goto_table:100`),
  100: lines(`
    table=100, priority=3,ip,reg0=0x2a,nw_dst=192.168.0.0/16 actions=goto_table:101
    table=100, priority=2,ip,reg0=0x2a,nw_dst=192.168.1.0/24 actions=drop
    table=100, priority=1,ip,reg0=0x2a,nw_dst=192.168.1.1 actions=goto_table:101
    table=100, priority=0 actions=goto_table:101`),
  101: lines(`
    table=101, priority=150,ct_state=+rpl actions=output:2
    table=101, priority=100,ip,reg0=0x25 actions=ct(commit),group:37
    table=101, priority=0 actions=output:2`),
  110: lines(`
    table=110, reg0=0x63 actions=goto_table:111
    table=110, priority=0 actions=drop`),
  111: lines(`
    table=111, priority=100 actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:10.0.12.34->tun_dst,output:1,set_field:10.0.123.45->tun_dst,output:1,set_field:10.0.45.123->tun_dst,output:1,goto_table:120`),
  120: lines(`
    table=120, priority=100,reg0=0x63 actions=output:4,output:5,output:6
    table=120, priority=0 actions=drop`),
  253: lines(`
    table=253, actions=note:01.0d.00.00.00.00`),
};

describe('openshift-sdn br0 flows: the reference node', () => {
  const c = referenceCluster();
  const { flows, groups } = flowsOf(c);

  it('assigns vxlan0=1, tun0=2 and pods from 3 in creation order', () => {
    expect([...assignPodPorts(c, 'node0').pods]).toEqual([
      ['ns1/pod-a', 3],
      ['mcast/m1', 4],
      ['mcast/m2', 5],
      ['mcast/m3', 6],
    ]);
  });

  for (const [n, expected] of Object.entries(REFERENCE)) {
    it(`table ${n} matches the research sheet`, () => {
      expect(table(flows, Number(n))).toEqual(expected);
    });
  }

  it('has no table the sheet does not list, and lists the tables in order', () => {
    const expected = Object.values(REFERENCE).flat();
    expect(flows).toEqual(expected);
  });

  it('sends VNID 37 to the remote egress node through select group 37', () => {
    expect(groups).toEqual([`group_id=37,type=select,bucket=actions=${VIA('10.0.12.34')}`]);
  });
});

describe('egressMark (getMarkForVNID)', () => {
  it('clears the masquerade bit into bit 24', () => {
    expect(egressMark(0xab, 1)).toBe(0x010000aa);
    expect(egressMark(37)).toBe(0x01000024); // 4.x default masquerade bit 0x1
    expect(egressMark(0x4000, 0x4000)).toBe(0x01000000); // upstream kube-proxy bit 14
  });
  it('maps the global VNID 0 to 0xff000000', () => {
    expect(egressMark(0, 1)).toBe(0xff000000);
  });
  it('moves the kubelet drop bit 0x8000 into bit 28', () => {
    expect(egressMark(0x8010, 1)).toBe(0x10000010);
    expect(egressMark(0x8001, 1)).toBe(0x11000000);
  });
  it('leaves other VNIDs alone', () => {
    expect(egressMark(42, 1)).toBe(42);
    expect(egressMark(0xffffff, 0)).toBe(0x10ff7fff);
  });
});

describe('plugin modes', () => {
  it('subnet: every pod is VNID 0, tables 27/80 allow all, no VNID features', () => {
    const { flows, groups } = flowsOf(referenceCluster('subnet'));
    expect(table(flows, 20)[2]).toBe(
      'table=20, priority=100,ip,in_port=3,nw_src=10.128.0.2 actions=load:0->NXM_NX_REG0[],goto_table:27',
    );
    expect(table(flows, 27)).toEqual([
      'table=27, priority=500 actions=goto_table:30',
      'table=27, priority=0 actions=drop',
    ]);
    expect(table(flows, 30)).toEqual(['table=30, priority=0 actions=goto_table:31']);
    expect(table(flows, 80)).toEqual([
      'table=80, priority=300,ip,nw_src=10.128.0.1 actions=output:NXM_NX_REG2[]',
      'table=80, priority=200 actions=output:NXM_NX_REG2[]',
      'table=80, priority=0 actions=drop',
    ]);
    expect(table(flows, 100)).toEqual(['table=100, priority=0 actions=goto_table:101']);
    expect(table(flows, 101)).toEqual([
      'table=101, priority=150,ct_state=+rpl actions=output:2',
      'table=101, priority=0 actions=output:2',
    ]);
    expect(table(flows, 110)).toEqual(['table=110, priority=0 actions=drop']);
    expect(table(flows, 120)).toEqual(['table=120, priority=0 actions=drop']);
    expect(table(flows, 253)).toEqual(['table=253, actions=note:00.0d.00.00.00.00']);
    expect(groups).toEqual([]);
  });

  it('networkpolicy: table 27 egress and table 30 conntrack commit, table 80 by reg1', () => {
    const { flows } = flowsOf(referenceCluster('networkpolicy'));
    expect(table(flows, 27)).toEqual([
      'table=27, priority=300,ip,nw_dst=172.30.0.0/16 actions=goto_table:30',
      'table=27, priority=200,ct_state=+rpl,ip actions=goto_table:30',
      'table=27, priority=50,reg0=0x2a actions=goto_table:30',
      'table=27, priority=50,reg0=0x63 actions=goto_table:30',
      'table=27, priority=0 actions=drop',
    ]);
    expect(table(flows, 30)).toEqual([
      'table=30, priority=100,ct_state=-rpl,ip,nw_src=10.128.0.0/14,nw_dst=10.128.0.0/14 actions=ct(commit,table=31)',
      'table=30, priority=0 actions=goto_table:31',
    ]);
    expect(table(flows, 80)).toEqual([
      'table=80, priority=300,ip,nw_src=10.128.0.1 actions=output:NXM_NX_REG2[]',
      'table=80, priority=200,ct_state=+rpl,ip actions=output:NXM_NX_REG2[]',
      'table=80, priority=50,reg1=0x2a actions=output:NXM_NX_REG2[]',
      'table=80, priority=50,reg1=0x63 actions=output:NXM_NX_REG2[]',
      'table=80, priority=0 actions=drop',
    ]);
    expect(table(flows, 253)).toEqual(['table=253, actions=note:02.0d.00.00.00.00']);
  });

  it('multitenant: no per-VNID rule for the global VNID 0', () => {
    const c = referenceCluster();
    c.pods.push(pod('default', 'router', 'node0', '10.128.0.9'));
    const t80 = table(flowsOf(c).flows, 80);
    expect(t80.filter((l) => l.includes('priority=100'))).toEqual([
      'table=80, priority=100,reg0=0x2a,reg1=0x2a actions=output:NXM_NX_REG2[]',
      'table=80, priority=100,reg0=0x63,reg1=0x63 actions=output:NXM_NX_REG2[]',
    ]);
  });

  it('skips hostNetwork pods and pods of other nodes', () => {
    const c = referenceCluster();
    c.pods.unshift(pod('default', 'host', 'node0', '172.17.0.4', {}, true), pod('ns1', 'far', 'node2', '10.129.0.2'));
    expect(assignPodPorts(c, 'node0').pods.get('ns1/pod-a')).toBe(3);
    expect(assignPodPorts(c, 'node0').pods.has('default/host')).toBe(false);
    expect(table(flowsOf(c).flows, 40)[0]).toBe('table=40, priority=100,arp,arp_tpa=10.128.0.2 actions=output:3');
  });

  it('egress router pods get ordinary pod flows only (their macvlan is outside OVS)', () => {
    const c = makeCluster('multitenant');
    c.pods[0]!.egressRouter = {
      source: ipv4('172.17.0.99'),
      gateway: ipv4('172.17.0.1'),
      destinations: [{ ip: ipv4('203.0.113.1') }],
      macvlanMac: 0x0a0000000099,
    };
    const plain = flowsOf(makeCluster('multitenant')).flows;
    expect(flowsOf(c).flows).toEqual(plain);
    expect(plain.join('\n')).not.toContain('172.17.0.99');
  });
});

describe('egress IPs (table 101 and select groups)', () => {
  const eipCluster = (holders: Record<string, string[]>, eips = ['10.0.12.100']): Cluster => {
    const c = referenceCluster();
    c.hostSubnets = c.hostSubnets.map((h) => ({ ...h, egressIPs: (holders[h.name] ?? []).map(ipv4) }));
    c.netNamespaces = c.netNamespaces.map((ns) => (ns.name === 'eip' ? { ...ns, egressIPs: eips.map(ipv4) } : ns));
    return c;
  };

  it('local egress node: the only bucket marks and sends to tun0, no ct(commit)', () => {
    const { flows, groups } = flowsOf(
      eipCluster({ node0: ['10.0.12.100'], node1: ['10.0.12.101'] }, ['10.0.12.101', '10.0.12.100']),
    );
    expect(table(flows, 101)[1]).toBe('table=101, priority=100,ip,reg0=0x25 actions=group:37');
    expect(groups).toEqual([
      `group_id=37,type=select,bucket=actions=set_field:${TUN0_MAC}->eth_dst,set_field:0x1000024->pkt_mark,output:2`,
    ]);
  });

  it('remote egress nodes: one bucket per node, ct(commit) first', () => {
    const { flows, groups } = flowsOf(
      eipCluster({ node3: ['10.0.12.100'], node1: ['10.0.12.101'] }, ['10.0.12.100', '10.0.12.101']),
    );
    expect(table(flows, 101)[1]).toBe('table=101, priority=100,ip,reg0=0x25 actions=ct(commit),group:37');
    expect(groups).toEqual([
      `group_id=37,type=select,bucket=actions=${VIA('10.0.12.34')},bucket=actions=${VIA('10.0.123.45')}`,
    ]);
  });

  it('no node holds the IP: drop the namespace’s external traffic', () => {
    const { flows, groups } = flowsOf(eipCluster({}));
    expect(table(flows, 101)).toEqual([
      'table=101, priority=150,ct_state=+rpl actions=output:2',
      'table=101, priority=100,reg0=0x25 actions=drop',
      'table=101, priority=0 actions=output:2',
    ]);
    expect(groups).toEqual([]);
  });

  it('an IP claimed by two nodes is unusable; one claimed by two namespaces stops egress', () => {
    expect(flowsOf(eipCluster({ node1: ['10.0.12.100'], node3: ['10.0.12.100'] })).groups).toEqual([]);
    const c = eipCluster({ node3: ['10.0.12.100'] });
    c.netNamespaces.push(netNamespace('thief', 50, { egressIPs: [ipv4('10.0.12.100')] }));
    expect(flowsOf(c).groups).toEqual([]);
    expect(table(flowsOf(c).flows, 101).filter((l) => l.includes('drop'))).toEqual([
      'table=101, priority=100,reg0=0x25 actions=drop',
      'table=101, priority=100,reg0=0x32 actions=drop',
    ]);
  });
});

describe('EgressNetworkPolicy (table 100)', () => {
  it('gives rule i of n priority n-i; 0.0.0.0/0 (and legacy /32) omit nw_dst', () => {
    const c = makeCluster('networkpolicy');
    c.netNamespaces.push(netNamespace('ns2', 43));
    c.egressNetworkPolicies = [
      {
        namespace: 'ns2',
        name: 'enp2',
        rules: [
          { type: 'Allow', cidrSelector: cidr('192.168.1.0/24') },
          { type: 'Allow', cidrSelector: cidr('192.168.2.0/24') },
          { type: 'Deny', cidrSelector: cidr('0.0.0.0/32') },
        ],
      },
      { namespace: 'ns1', name: 'deny-all', rules: [{ type: 'Deny', cidrSelector: cidr('0.0.0.0/0') }] },
    ];
    expect(table(flowsOf(c).flows, 100)).toEqual([
      'table=100, priority=3,ip,reg0=0x2b,nw_dst=192.168.1.0/24 actions=goto_table:101',
      'table=100, priority=2,ip,reg0=0x2b,nw_dst=192.168.2.0/24 actions=goto_table:101',
      'table=100, priority=1,ip,reg0=0x2a actions=drop',
      'table=100, priority=1,ip,reg0=0x2b actions=drop',
      'table=100, priority=0 actions=goto_table:101',
    ]);
  });

  it('refuses the global VNID and drops everything for shared VNIDs or several policies', () => {
    const c = makeCluster('multitenant');
    c.netNamespaces.push(netNamespace('joined', 42), netNamespace('ns3', 44));
    const rules = [{ type: 'Allow' as const, cidrSelector: cidr('10.0.0.0/8') }];
    c.egressNetworkPolicies = [
      { namespace: 'default', name: 'g', rules },
      { namespace: 'ns1', name: 'a', rules },
      { namespace: 'ns3', name: 'b', rules },
      { namespace: 'ns3', name: 'c', rules },
    ];
    expect(table(flowsOf(c).flows, 100)).toEqual([
      'table=100, priority=1,reg0=0x2a actions=drop',
      'table=100, priority=1,reg0=0x2c actions=drop',
      'table=100, priority=0 actions=goto_table:101',
    ]);
  });
});

describe('NetworkPolicy (tables 80 and 27)', () => {
  /** ns1 (42): db 10.128.0.2 and web 10.128.0.3 on node0, web2 10.128.2.3 on node1; other (43): cli 10.128.2.4. */
  const npCluster = (...policies: NetworkPolicy[]): Cluster =>
    makeCluster('networkpolicy', {
      netNamespaces: [netNamespace('default', 0), netNamespace('ns1', 42), netNamespace('other', 43)],
      pods: [
        pod('ns1', 'db', 'node0', '10.128.0.2', { app: 'db' }),
        pod('ns1', 'web', 'node0', '10.128.0.3', { app: 'web' }),
        pod('ns1', 'web2', 'node1', '10.128.2.3', { app: 'web' }),
        pod('other', 'cli', 'node1', '10.128.2.4', { app: 'cli' }),
      ],
      networkPolicies: policies,
    });
  const policy = (p: Partial<NetworkPolicy>): NetworkPolicy => ({
    namespace: 'ns1',
    name: 'p',
    podSelector: {},
    policyTypes: ['Ingress'],
    ingress: [],
    egress: [],
    ...p,
  });
  const t = (c: Cluster, n: number): string[] => table(flowsOf(c).flows, n).filter((l) => /reg[01]=0x2a/.test(l));

  it('no policy: every pod of the namespace accepts and sends everything', () => {
    const c = npCluster();
    expect(t(c, 80)).toEqual(['table=80, priority=50,reg1=0x2a actions=output:NXM_NX_REG2[]']);
    expect(t(c, 27)).toEqual(['table=27, priority=50,reg0=0x2a actions=goto_table:30']);
  });

  it('all pods isolated: deny-all ingress leaves only the priority-0 drop', () => {
    const c = npCluster(policy({ name: 'deny-all' }));
    expect(t(c, 80)).toEqual([]);
    expect(t(c, 27)).toEqual(['table=27, priority=50,reg0=0x2a actions=goto_table:30']);
  });

  it('allow-same-namespace: the empty podSelector peer is the own VNID', () => {
    const c = npCluster(policy({ ingress: [{ peers: [{ podSelector: {} }], ports: [] }] }));
    expect(t(c, 80)).toEqual(['table=80, priority=150,reg0=0x2a,reg1=0x2a actions=output:NXM_NX_REG2[]']);
  });

  it('some pods isolated: allow web -> db:5432, drop the rest to db, allow the others', () => {
    const c = npCluster(
      policy({
        podSelector: { app: 'db' },
        ingress: [{ peers: [{ podSelector: { app: 'web' } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
      }),
    );
    expect(t(c, 80)).toEqual([
      'table=80, priority=150,tcp,reg1=0x2a,nw_src=10.128.0.3,nw_dst=10.128.0.2,tp_dst=5432 actions=output:NXM_NX_REG2[]',
      'table=80, priority=150,tcp,reg1=0x2a,nw_src=10.128.2.3,nw_dst=10.128.0.2,tp_dst=5432 actions=output:NXM_NX_REG2[]',
      'table=80, priority=100,ip,reg1=0x2a,nw_dst=10.128.0.2 actions=drop',
      'table=80, priority=50,reg1=0x2a actions=output:NXM_NX_REG2[]',
    ]);
  });

  it('namespaceSelector on ingress matches the source VNID; ipBlock splits around except', () => {
    const c = npCluster(
      policy({
        ingress: [
          {
            peers: [{ namespaceSelector: { 'kubernetes.io/metadata.name': 'other' } }],
            ports: [{ protocol: 'UDP', port: 53 }],
          },
          { peers: [{ ipBlock: { cidr: cidr('10.0.0.0/8'), except: [cidr('10.1.0.0/16')] } }], ports: [] },
        ],
      }),
    );
    const ranges = [
      '10.0.0.0/16',
      '10.2.0.0/15',
      '10.4.0.0/14',
      '10.8.0.0/13',
      '10.16.0.0/12',
      '10.32.0.0/11',
      '10.64.0.0/10',
      '10.128.0.0/9',
    ];
    expect(t(c, 80)).toEqual([
      'table=80, priority=150,udp,reg0=0x2b,reg1=0x2a,tp_dst=53 actions=output:NXM_NX_REG2[]',
      ...ranges.map((r) => `table=80, priority=150,ip,reg1=0x2a,nw_src=${r} actions=output:NXM_NX_REG2[]`),
    ]);
  });

  it('egress: namespaceSelector expands to the pods of the selected namespaces', () => {
    const c = npCluster(
      policy({
        podSelector: { app: 'web' },
        policyTypes: ['Egress'],
        egress: [
          {
            peers: [{ namespaceSelector: { 'kubernetes.io/metadata.name': 'other' } }],
            ports: [{ protocol: 'UDP', port: 53 }],
          },
        ],
      }),
    );
    expect(t(c, 27)).toEqual([
      'table=27, priority=150,udp,reg0=0x2a,nw_src=10.128.0.3,nw_dst=10.128.2.4,tp_dst=53 actions=goto_table:30',
      'table=27, priority=150,udp,reg0=0x2a,nw_src=10.128.2.3,nw_dst=10.128.2.4,tp_dst=53 actions=goto_table:30',
      'table=27, priority=100,ip,reg0=0x2a,nw_src=10.128.0.3 actions=drop',
      'table=27, priority=100,ip,reg0=0x2a,nw_src=10.128.2.3 actions=drop',
      'table=27, priority=50,reg0=0x2a actions=goto_table:30',
    ]);
    expect(t(c, 80)).toEqual(['table=80, priority=50,reg1=0x2a actions=output:NXM_NX_REG2[]']);
  });

  it('a VNID with no pod on this node gets no policy flows', () => {
    const c = npCluster();
    expect(table(flowsOf(c).flows, 80).some((l) => l.includes('0x2b'))).toBe(false);
    expect(table(flowsOf(c, 'node1').flows, 80)).toContain(
      'table=80, priority=50,reg1=0x2b actions=output:NXM_NX_REG2[]',
    );
  });

  it('cidrMinus gives the fewest CIDRs, lowest first', () => {
    expect(cidrMinus(cidr('192.168.0.0/24'), [cidr('192.168.0.128/25')])).toEqual([cidr('192.168.0.0/25')]);
    expect(cidrMinus(cidr('192.168.0.0/24'), [cidr('192.168.0.0/16')])).toEqual([]);
    expect(
      cidrMinus(cidr('192.168.0.0/30'), [cidr('192.168.0.1/32')]).map((x) => `${x.network >>> 0}/${x.prefix}`),
    ).toEqual([`${ipv4('192.168.0.0')}/32`, `${ipv4('192.168.0.2')}/31`]);
  });
});

describe('multicast (tables 110, 111, 120)', () => {
  it('outputs every local pod of the VNID, sorted as strings like SDN does', () => {
    const c = referenceCluster();
    for (let i = 0; i < 7; i++) c.pods.push(pod('mcast', `x${i}`, 'node0', `10.128.0.${20 + i}`));
    expect(table(flowsOf(c).flows, 120)[0]).toBe(
      'table=120, priority=100,reg0=0x63 actions=output:10,output:11,output:12,output:13,output:4,output:5,output:6,output:7,output:8,output:9',
    );
  });

  it('networkpolicy programs table 110 only for VNIDs with local pods; multitenant for all', () => {
    const c = referenceCluster('networkpolicy');
    c.netNamespaces.push(netNamespace('mc-remote', 77, { multicast: true }));
    expect(table(flowsOf(c).flows, 110)).toEqual([
      'table=110, reg0=0x63 actions=goto_table:111',
      'table=110, priority=0 actions=drop',
    ]);
    const m = referenceCluster('multitenant');
    m.netNamespaces.push(netNamespace('mc-remote', 77, { multicast: true }));
    expect(table(flowsOf(m).flows, 110)).toEqual([
      'table=110, reg0=0x4d actions=goto_table:111',
      'table=110, reg0=0x63 actions=goto_table:111',
      'table=110, priority=0 actions=drop',
    ]);
    expect(table(flowsOf(m).flows, 120)[0]).toBe(
      'table=120, priority=100,reg0=0x63 actions=output:4,output:5,output:6',
    );
  });

  it('a single-node cluster has no remote to replicate to', () => {
    const c = makeCluster('multitenant', { hostSubnets: [hostSubnet('node0', '172.17.0.4', '10.128.0.0/23')] });
    expect(table(flowsOf(c).flows, 111)).toEqual(['table=111, priority=100 actions=goto_table:120']);
    expect(table(flowsOf(c).flows, 10)).toEqual(['table=10, priority=0 actions=drop']);
  });
});
