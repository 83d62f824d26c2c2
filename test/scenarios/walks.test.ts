/**
 * What each scenario must show, hop by hop, read from the captured bytes with packetwalk's dissector (tshark
 * checks the same files in tshark.test.ts): service DNAT and its undoing, every way out of the cluster and the
 * address the external host sees, the drops policies cause, and the paths replies take.
 */

import { describe, expect, it } from 'vitest';
import { at, hopsOf, packetIndex } from './hops.js';
import { runToTemp } from './run-helpers.js';

const SYN = 'TCP SYN ';
const SYNACK = 'TCP SYN-ACK';

describe('pod-to-service-same-node', () => {
  const r = runToTemp('pod-to-service-same-node');
  const syn = hopsOf(r, packetIndex(r, SYN));
  const synAck = hopsOf(r, packetIndex(r, SYNACK));

  it('leaves the client for the service IP and arrives at the endpoint with the pod IP and the same client port', () => {
    const out = at(syn, 'kuard-amd64-1-qqdqm/eth0', 'outbound');
    expect(out.dst).toBe('172.30.82.94:8080');
    const inn = at(syn, 'sqlapi-1-8jgx8/eth0', 'inbound');
    expect(inn.dst).toBe('10.131.0.40:8080');
    expect(inn.src).toBe(out.src);
    // DNAT happened in the node kernel: the frame crossed tun0 and lost one TTL.
    expect(syn.some((h) => h.point.endsWith('/tun0'))).toBe(true);
    expect(inn.ttl).toBe(63);
  });

  it('un-DNATs the reply in br0 (table 31 ct(nat)) without crossing tun0', () => {
    expect(at(synAck, 'kuard-amd64-1-qqdqm/eth0', 'inbound').src).toBe('172.30.82.94:8080');
    expect(synAck.some((h) => h.point.endsWith('/tun0'))).toBe(false);
    expect(
      r.packets[packetIndex(r, SYNACK)]!.trace.root.some((n) => /ct\(table=70,nat\)|ct\(nat/.test(JSON.stringify(n))),
    ).toBe(true);
  });
});

describe('pod-to-service-cross-node', () => {
  const r = runToTemp('pod-to-service-cross-node');
  const syn = hopsOf(r, packetIndex(r, SYN));
  const synAck = hopsOf(r, packetIndex(r, SYNACK));

  it('DNATs on the client node and crosses VXLAN to the endpoint node with the project VNID', () => {
    expect(at(syn, 'sqlapi-1-8jgx8/eth0', 'outbound').dst).toBe('172.30.72.7:1433');
    const wire = at(syn, 'worker-northeurope1-qt8l7/eth0', 'outbound');
    expect([wire.outerSrc, wire.outerDst, wire.dst]).toEqual(['192.168.0.4', '192.168.0.5', '10.128.2.24:1433']);
    expect(wire.vni).toBe(r.cluster.netNamespaces.find((n) => n.name === 'project1')!.netid);
    expect(at(syn, 'server-1-ppl25/eth0', 'inbound').dst).toBe('10.128.2.24:1433');
  });

  it('brings the reply back from the service IP', () => {
    expect(at(synAck, 'sqlapi-1-8jgx8/eth0', 'inbound').src).toBe('172.30.72.7:1433');
  });
});

describe.each([
  ['egress-node-ip', '192.168.0.4', 'worker-northeurope1-qt8l7/eth0'],
  ['egress-ip-local', '192.168.0.101', 'worker-northeurope1-qt8l7/eth0'],
  ['egress-ip-remote', '192.168.0.100', 'worker-northeurope2-rbxzc/eth0'],
])('%s', (name, source, exitPoint) => {
  const r = runToTemp(name);
  const syn = hopsOf(r, packetIndex(r, SYN));
  const synAck = hopsOf(r, packetIndex(r, SYNACK));

  it(`leaves the cluster from ${exitPoint} with source ${source}`, () => {
    const out = at(syn, exitPoint, 'outbound');
    expect(out.src.split(':')[0]).toBe(source);
    expect(out.dst).toBe('203.0.113.10:443');
    expect(at(syn, 'external/eth0', 'inbound').src.split(':')[0]).toBe(source);
  });

  it('returns the reply to the pod from the external address', () => {
    expect(at(synAck, 'sqlapi-1-8jgx8/eth0', 'inbound').src).toBe('203.0.113.10:443');
  });

  if (name === 'egress-ip-remote') {
    it('reaches the egress node through VXLAN with the namespace VNID, and returns with VNI 0', () => {
      const vx = at(syn, 'worker-northeurope1-qt8l7/eth0', 'outbound');
      expect([vx.outerSrc, vx.outerDst, vx.vni]).toEqual([
        '192.168.0.4',
        '192.168.0.6',
        r.cluster.netNamespaces.find((n) => n.name === 'project1')!.netid,
      ]);
      const back = at(synAck, 'worker-northeurope2-rbxzc/eth0', 'outbound');
      expect([back.outerSrc, back.outerDst, back.vni]).toEqual(['192.168.0.6', '192.168.0.4', 0]);
    });
  }
});

describe('egress-router', () => {
  const r = runToTemp('egress-router');
  const syn = hopsOf(r, packetIndex(r, SYN));
  it('is DNATed to the destination and SNATed to EGRESS_SOURCE on macvlan0', () => {
    expect(at(syn, 'egress-router-1/eth0', 'inbound').dst.endsWith(':443')).toBe(true);
    const out = at(syn, 'egress-router-1/macvlan0', 'outbound');
    expect([out.src.split(':')[0], out.dst]).toEqual(['192.168.0.99', '203.0.113.10:443']);
    expect(at(syn, 'external/eth0', 'inbound').src.split(':')[0]).toBe('192.168.0.99');
  });
  it('shows the macvlan frames on the parent NIC too', () => {
    expect(syn.some((h) => h.point === 'worker-northeurope2-rbxzc/eth0' && h.src.startsWith('192.168.0.99'))).toBe(
      true,
    );
  });
});

describe.each([
  ['egress-policy-deny', /table 100/, 'aro2-p8bjm-worker-northeurope1-qt8l7'],
  ['networkpolicy-deny', /table 80/, 'aro2-p8bjm-worker-northeurope3-wl4vw'],
])('%s', (name, table, host) => {
  const r = runToTemp(name);
  it('drops the first packet where the policy is enforced, and says which table', () => {
    const syn = r.packets[packetIndex(r, SYN)]!;
    expect(syn.outcome?.kind).toBe('dropped');
    expect(syn.outcome?.host).toBe(host);
    expect(syn.outcome?.reason).toMatch(table);
    expect(r.flows[0]!.ok).toBe(false);
  });
});

describe('hairpin', () => {
  const r = runToTemp('hairpin');
  it('masquerades the hairpinned SYN to the tun0 address and returns it to the same pod', () => {
    const syn = hopsOf(r, packetIndex(r, SYN));
    const back = syn.filter((h) => h.point === 'sqlapi-1-8jgx8/eth0');
    expect(back.map((h) => h.direction)).toEqual(['outbound', 'inbound']);
    expect(back[1]!.src.split(':')[0]).toBe('10.131.0.1');
    expect(back[1]!.dst).toBe('10.131.0.40:8080');
    expect(r.flows[0]!.ok).toBe(true);
  });
});

describe('hostnetwork-to-pod', () => {
  const r = runToTemp('hostnetwork-to-pod');
  it('leaves worker2 through tun0 with the gateway source and VNI 0', () => {
    const syn = hopsOf(r, packetIndex(r, SYN));
    const wire = at(syn, 'worker-northeurope2-rbxzc/eth0', 'outbound');
    expect([wire.outerSrc, wire.outerDst, wire.vni, wire.src.split(':')[0]]).toEqual([
      '192.168.0.6',
      '192.168.0.5',
      0,
      '10.129.2.1',
    ]);
  });
});

describe('nodeport-ingress', () => {
  const r = runToTemp('nodeport-ingress');
  it('reaches sqlapi through the load balancer IP and through the NodePort, and answers from the address dialled', () => {
    expect(r.flows.map((f) => f.ok)).toEqual([true, true]);
    const first = hopsOf(r, packetIndex(r, SYN));
    expect(at(first, 'external/eth0', 'outbound').dst).toBe('192.168.0.11:8080');
    expect(at(first, 'sqlapi-1-8jgx8/eth0', 'inbound').dst).toBe('10.131.0.40:8080');
    const second = hopsOf(r, packetIndex(r, SYN, packetIndex(r, SYN) + 1));
    expect(at(second, 'external/eth0', 'outbound').dst).toBe('192.168.0.6:30039');
    const replies = r.packets.filter((p) => p.label.startsWith(SYNACK));
    expect(at(hopsOf(r, replies[0]!.index), 'external/eth0', 'inbound').src).toBe('192.168.0.11:8080');
    expect(at(hopsOf(r, replies[1]!.index), 'external/eth0', 'inbound').src).toBe('192.168.0.6:30039');
  });
});
