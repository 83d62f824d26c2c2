import { describe, expect, it } from 'vitest';
import { ipv4 } from '../../codecs/bytes.js';
import { CT_DNAT, CT_EST, CT_NEW, CT_REL, CT_RPL, CT_TRK } from '../../src/buffer/packet-buffer.js';
import type { ConntrackEntry } from '../../src/netfilter/conntrack.js';
import { createNodeNetfilter } from '../../src/netfilter/node-rules.js';
import { ovsCtExecute } from '../../src/node/ovs-conntrack.js';
import { smallCluster } from '../netfilter/cluster-fixture.js';
import { icmpError, inspect, SYN, ACK, tcp } from '../netfilter/packets.js';
import { expectedEndpoint, forward, TO_SVC } from '../netfilter/service-fixture.js';

describe('OVS ct() on the shared table', () => {
  it("sees the kernel's DNAT entry: the endpoint's reply is +est+rpl+dnat and ct(nat) un-DNATs it", () => {
    let seed = 0;
    while (expectedEndpoint(seed) !== '10.128.0.6') seed++;
    const nf = createNodeNetfilter(smallCluster(), 'node-a', { seed });
    forward(nf, tcp(TO_SVC, SYN), 'tun0', 'tun0');
    const reply = tcp({ src: '10.128.0.6', dst: '10.128.0.5', sport: 8080, dport: 40000 }, SYN | ACK);
    expect(ovsCtExecute(nf, reply.pkt, reply.l3, {})).toBeUndefined();
    expect(reply.pkt.ctState).toBe(CT_TRK | CT_EST | CT_RPL | CT_DNAT);
    expect(inspect(reply).src).toBe('10.128.0.6'); // ct() without nat changes nothing
    expect(ovsCtExecute(nf, reply.pkt, reply.l3, { nat: true })).toBeUndefined();
    expect(inspect(reply)).toEqual({ src: '172.30.82.94', dst: '10.128.0.5', sport: 80, dport: 40000, valid: true });
  });

  it('ct(nat) translates a RELATED ICMP error from the endpoint, quoted header included', () => {
    let seed = 0;
    while (expectedEndpoint(seed) !== '10.128.0.6') seed++;
    const nf = createNodeNetfilter(smallCluster(), 'node-a', { seed });
    const syn = tcp(TO_SVC, SYN);
    forward(nf, syn, 'tun0', 'tun0');
    const err = icmpError('10.128.0.6', '10.128.0.5', 3, 3, syn, 40);
    expect(ovsCtExecute(nf, err.pkt, err.l3, {})).toBeUndefined();
    expect(err.pkt.ctState).toBe(CT_TRK | CT_REL | CT_RPL | CT_DNAT);
    expect(ovsCtExecute(nf, err.pkt, err.l3, { nat: true })).toBeUndefined();
    const outer = inspect(err);
    expect([outer.src, outer.dst, outer.valid]).toEqual(['172.30.82.94', '10.128.0.5', true]);
    expect(inspect({ pkt: err.pkt, l3: err.l3 + 28 })).toEqual({ ...TO_SVC, valid: true });
  });

  it('ct(commit,nat(dst=...),exec(set_field:...->ct_mark)) binds a new connection and stores the mark', () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a');
    const p = tcp({ src: '10.128.0.5', dst: '10.0.0.1', sport: 40002, dport: 80 }, SYN);
    expect(
      ovsCtExecute(nf, p.pkt, p.l3, {
        commit: true,
        nat: true,
        natSpec: { kind: 'dst', addrMin: ipv4('10.129.0.7'), portMin: 8080, flags: [] },
        mark: 7,
      }),
    ).toBeUndefined();
    expect(inspect(p)).toEqual({ src: '10.128.0.5', dst: '10.129.0.7', sport: 40002, dport: 8080, valid: true });
    expect([p.pkt.ctMark, (p.pkt.ctEntry as ConntrackEntry).mark, nf.conntrack.count]).toEqual([7, 7, 1]);
  });

  it('ct() without commit leaves nothing; ct(commit) confirms', () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a');
    const a = tcp({ src: '10.128.0.5', dst: '10.129.0.7', sport: 40001, dport: 8080 }, SYN);
    expect(ovsCtExecute(nf, a.pkt, a.l3, {})).toBeUndefined();
    expect(a.pkt.ctState).toBe(CT_TRK | CT_NEW);
    expect(nf.conntrack.count).toBe(0);
    expect(ovsCtExecute(nf, a.pkt, a.l3, { commit: true })).toBeUndefined();
    expect(nf.conntrack.count).toBe(1);
  });

  it('reuses the entry the kernel attached when the packet enters br0 from tun0 (skb_nfct_cached)', () => {
    const nf = createNodeNetfilter(smallCluster(), 'node-a', { seed: 2 });
    const p = tcp(TO_SVC, SYN);
    forward(nf, p, 'tun0', 'tun0');
    const entry = p.pkt.ctEntry;
    // tun0 into br0: metadata cleared but the conntrack reference kept (ovs-ports.ts Tun0Port).
    p.pkt.ctState = 0;
    expect(ovsCtExecute(nf, p.pkt, p.l3, { commit: true })).toBeUndefined();
    expect(p.pkt.ctEntry).toBe(entry);
    expect(p.pkt.ctState).toBe(CT_TRK | CT_NEW | CT_DNAT);
    expect(nf.conntrack.count).toBe(1);
  });
});
