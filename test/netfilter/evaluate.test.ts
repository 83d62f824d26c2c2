import { describe, expect, it } from 'vitest';
import { ipv4 } from '../../codecs/bytes.js';
import type { ConntrackEntry } from '../../src/netfilter/conntrack.js';
import { createEgressRouterNetfilter } from '../../src/netfilter/egress-router.js';
import { Netfilter } from '../../src/netfilter/evaluate.js';
import { buildNodeRules, createNodeNetfilter, nodeInterfaces } from '../../src/netfilter/node-rules.js';
import { ovsCtExecute } from '../../src/node/ovs-conntrack.js';
import { NF_ACCEPT, NF_REJECT } from '../../src/runtime/netfilter-hooks.js';
import { TraceRecorder } from '../../src/trace/types.js';
import { smallCluster } from './cluster-fixture.js';
import { ACK, inspect, SYN, tcp, udp } from './packets.js';

import { EPS, expectedEndpoint, forward, TO_SVC } from './service-fixture.js';

describe('node-a netfilter walks', () => {
  it('pod -> service: DNAT to the endpoint the seed picks, no SNAT (pod source kept)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const nf = createNodeNetfilter(smallCluster(), 'node-a', { seed });
      const p = tcp(TO_SVC, SYN);
      expect(forward(nf, p, 'tun0', 'tun0')).toBe(NF_ACCEPT);
      expect(inspect(p)).toEqual({
        src: '10.128.0.5',
        dst: expectedEndpoint(seed),
        sport: 40000,
        dport: 8080,
        valid: true,
      });
      expect(p.pkt.pktMark).toBe(0);
    }
  });

  it('spreads connections over the endpoints as the probabilities say', () => {
    const counts = new Map<string, number>();
    const n = 3000;
    const rules = buildNodeRules(smallCluster(), 'node-a');
    const interfaces = nodeInterfaces(smallCluster(), 'node-a');
    for (let seed = 0; seed < n; seed++) {
      const nf = new Netfilter(rules, { seed, interfaces });
      const p = tcp(TO_SVC, SYN);
      forward(nf, p, 'tun0', 'tun0');
      const d = inspect(p).dst;
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
    for (const ep of EPS) expect(Math.abs(counts.get(ep)! / n - 1 / 3)).toBeLessThan(0.04);
  });

  it('an ACK before any SYN-ACK is INVALID and dropped by OPENSHIFT-FIREWALL-FORWARD, not NATed', () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a');
    forward(nf, tcp(TO_SVC, SYN), 'tun0', 'tun0');
    const ack = tcp(TO_SVC, ACK);
    expect(forward(nf, ack, 'tun0', 'tun0')).toBe(1);
    expect(inspect(ack).dst).toBe('172.30.82.94');
    expect(nf.lastRule()).toBe('-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP');
  });

  it('one instance keeps drawing: successive connections spread too, each sticking to its endpoint', () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a', { seed: 9 });
    const seen = new Set<string>();
    for (let port = 41000; port < 41030; port++) {
      const syn = tcp({ ...TO_SVC, sport: port }, SYN);
      forward(nf, syn, 'tun0', 'tun0');
      const ep = inspect(syn).dst;
      seen.add(ep);
      // The endpoint's SYN-ACK goes back through br0's ct(nat) (no iptables), then the client's ACK.
      const synack = tcp({ src: ep, dst: TO_SVC.src, sport: 8080, dport: port }, SYN | ACK);
      expect(ovsCtExecute(nf, synack.pkt, synack.l3, { nat: true })).toBeUndefined();
      expect(inspect(synack).src).toBe(TO_SVC.dst);
      const ack = tcp({ ...TO_SVC, sport: port }, ACK);
      expect(forward(nf, ack, 'tun0', 'tun0')).toBe(NF_ACCEPT);
      expect(inspect(ack).dst).toBe(ep);
    }
    expect(seen.size).toBe(3);
  });

  it("hairpin: a pod reaching itself through the service is marked and masqueraded to tun0's address", () => {
    let seed = 0;
    while (expectedEndpoint(seed) !== '10.128.0.6') seed++;
    const nf = createNodeNetfilter(smallCluster(), 'node-a', { seed });
    const p = tcp({ ...TO_SVC, src: '10.128.0.6' }, SYN);
    expect(forward(nf, p, 'tun0', 'tun0')).toBe(NF_ACCEPT);
    const r = inspect(p);
    expect([r.src, r.dst, r.dport, r.valid]).toEqual(['10.128.0.1', '10.128.0.6', 8080, true]);
    // KUBE-POSTROUTING cleared the mark (--xor-mark) before MASQUERADE --random-fully picked a port.
    expect(p.pkt.pktMark).toBe(0);
    expect(r.sport).toBeGreaterThanOrEqual(1024);
  });

  it('pod -> external: MASQUERADE to the node IP on eth0, source port kept', () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a');
    const p = tcp({ src: '10.128.0.5', dst: '93.184.216.34', sport: 51000, dport: 443 }, SYN);
    expect(forward(nf, p, 'tun0', 'eth0')).toBe(NF_ACCEPT);
    expect(inspect(p)).toEqual({ src: '192.168.0.4', dst: '93.184.216.34', sport: 51000, dport: 443, valid: true });
  });

  it('egress IP: packets with the namespace mark are SNATed to the egress IP; replies come back', () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a');
    const p = tcp({ src: '10.128.0.5', dst: '93.184.216.34', sport: 51000, dport: 443 }, SYN);
    p.pkt.pktMark = 0x010000aa; // set by br0's egress group bucket (set_field:<mark>->pkt_mark)
    expect(forward(nf, p, 'tun0', 'eth0')).toBe(NF_ACCEPT);
    expect(inspect(p).src).toBe('192.168.0.100');
    const back = tcp({ src: '93.184.216.34', dst: '192.168.0.100', sport: 443, dport: 51000 }, SYN | ACK);
    expect(forward(nf, back, 'eth0', 'tun0')).toBe(NF_ACCEPT);
    expect(inspect(back)).toEqual({ src: '93.184.216.34', dst: '10.128.0.5', sport: 443, dport: 51000, valid: true });
    // A new connection *to* the egress IP is rejected by OPENSHIFT-FIREWALL-ALLOW.
    const inbound = tcp({ src: '93.184.216.34', dst: '192.168.0.100', sport: 5555, dport: 22 }, SYN);
    expect(nf.prerouting(inbound.pkt, inbound.l3, 'eth0')).toBe(NF_ACCEPT);
    expect(nf.input(inbound.pkt, inbound.l3, 'eth0')).toBe(NF_REJECT);
    expect(nf.lastRule()).toBe(
      '-A OPENSHIFT-FIREWALL-ALLOW -d 192.168.0.100/32 -m conntrack --ctstate NEW -j REJECT --reject-with icmp-port-unreachable',
    );
  });

  it("NodePort: DNAT to an endpoint and masquerade to tun0's address", () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a', { seed: 3 });
    const p = tcp({ src: '192.168.0.1', dst: '192.168.0.4', sport: 50000, dport: 30080 }, SYN);
    expect(forward(nf, p, 'eth0', 'tun0')).toBe(NF_ACCEPT);
    const r = inspect(p);
    expect([r.src, r.dst, r.dport, r.valid]).toEqual(['10.128.0.1', expectedEndpoint(3), 8080, true]);
    const e = p.pkt.ctEntry as ConntrackEntry;
    expect(e.reply.dst).toBe(ipv4('10.128.0.1'));
  });

  it('VXLAN (UDP 4789) is NOTRACKed in raw and accepted by OPENSHIFT-FIREWALL-ALLOW', () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a');
    const p = udp({ src: '192.168.0.5', dst: '192.168.0.4', sport: 41918, dport: 4789 });
    expect(nf.prerouting(p.pkt, p.l3, 'eth0')).toBe(NF_ACCEPT);
    expect(nf.input(p.pkt, p.l3, 'eth0')).toBe(NF_ACCEPT);
    expect((p.pkt.ctEntry as ConntrackEntry).untracked).toBe(true);
    expect(nf.conntrack.count).toBe(0);
  });

  it('a service without endpoints is rejected in filter FORWARD', () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a');
    const p = udp({ src: '10.128.0.5', dst: '172.30.5.5', sport: 5000, dport: 53 });
    expect(forward(nf, p, 'tun0', 'tun0')).toBe(NF_REJECT);
    expect(nf.lastRule()).toBe(
      '-A KUBE-SERVICES -d 172.30.5.5/32 -p udp -m comment --comment "app/empty has no endpoints" -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable',
    );
  });

  it('records the deciding rules, conntrack and NAT in a trace', () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a', { seed: 1 });
    const trace = new TraceRecorder();
    const p = tcp(TO_SVC, SYN);
    forward(nf, p, 'tun0', 'tun0', trace);
    const lines = trace.root.map((n) => `${n.kind}: ${n.text}`);
    const ep = expectedEndpoint(1);
    expect(lines).toContain(
      'netfilter: nat: -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    );
    expect(lines).toContain(
      'netfilter: nat: -A KUBE-SERVICES -d 172.30.82.94/32 -p tcp -m comment --comment "app/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-GSODGFK7F4BKZ7VG',
    );
    expect(
      lines.some((l) => l.startsWith('netfilter: nat: -A KUBE-SEP-') && l.endsWith(`--to-destination ${ep}:8080`)),
    ).toBe(true);
    expect(lines).toContain(`nat: DNAT: destination 172.30.82.94:80 -> ${ep}:8080`);
    expect(lines).toContain(
      'netfilter: filter: -A OPENSHIFT-FIREWALL-FORWARD -d 10.128.0.0/14 -m comment --comment "forward traffic from SDN" -j ACCEPT',
    );
    expect(lines.at(-1)).toBe(
      `ct: conntrack: confirmed tcp 10.128.0.5:40000 -> 172.30.82.94:80, reply ${ep}:8080 -> 10.128.0.5:40000`,
    );
    expect(
      lines.some((l) => l.startsWith('ct: conntrack (zone 0): +trk+new tcp 10.128.0.5:40000 -> 172.30.82.94:80')),
    ).toBe(true);
  });
});

describe('egress router pod', () => {
  it('DNATs what arrives on eth0 and SNATs it out of macvlan0', () => {
    const nf = createEgressRouterNetfilter(
      {
        source: ipv4('192.168.0.99'),
        gateway: ipv4('192.168.0.1'),
        macvlanMac: 0x020000000099,
        destinations: [{ ip: ipv4('203.0.113.25') }],
      },
      ipv4('10.129.0.20'),
    );
    const p = tcp({ src: '10.128.0.5', dst: '10.129.0.20', sport: 40000, dport: 80 }, SYN);
    expect(forward(nf, p, 'eth0', 'macvlan0')).toBe(NF_ACCEPT);
    expect(inspect(p)).toEqual({ src: '192.168.0.99', dst: '203.0.113.25', sport: 40000, dport: 80, valid: true });
    const back = tcp({ src: '203.0.113.25', dst: '192.168.0.99', sport: 80, dport: 40000 }, SYN | ACK);
    expect(forward(nf, back, 'macvlan0', 'eth0')).toBe(NF_ACCEPT);
    expect(inspect(back)).toEqual({ src: '10.129.0.20', dst: '10.128.0.5', sport: 80, dport: 40000, valid: true });
  });
});
