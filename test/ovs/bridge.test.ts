import { describe, expect, it } from 'vitest';
import { ipv4, readU16, readU32, toHex } from '../../codecs/bytes.js';
import { BufferPool, CT_EST, CT_NEW, CT_RPL, CT_TRK, type PacketBuffer } from '../../src/buffer/packet-buffer.js';
import { Bridge, type BridgeHost, type CtRequest } from '../../src/ovs/bridge.js';
import { renderBridgeTrace } from '../../src/ovs/trace-format.js';
import { TraceRecorder } from '../../src/trace/types.js';
import { arpFrame, checksumsValid, ipFrame, packet } from './packets.js';

interface Out {
  port: number;
  hex: string;
  reg0: number;
  tunId: number;
  tunDst: number;
  pktMark: number;
  ctState: number;
}

/** A host that records outputs; conntrack marks packets +trk and +new, or +est after a commit of the same 5-tuple. */
function fakeHost(opts: { replyFrom?: string } = {}): BridgeHost & { outs: Out[]; cts: CtRequest[] } {
  const committed = new Set<string>();
  const outs: Out[] = [];
  const cts: CtRequest[] = [];
  return {
    outs,
    cts,
    output(port: number, p: PacketBuffer) {
      outs.push({
        port,
        hex: toHex(p.data, p.start, p.end),
        reg0: p.reg0,
        tunId: p.tunId,
        tunDst: p.tunDst,
        pktMark: p.pktMark,
        ctState: p.ctState,
      });
    },
    conntrack(p: PacketBuffer, req: CtRequest) {
      cts.push({ ...req });
      const tuple = toHex(p.data, p.start + 26, p.start + 38);
      let st = CT_TRK | (committed.has(tuple) ? CT_EST : CT_NEW);
      if (opts.replyFrom !== undefined && readU32(p.data, p.start + 26) === ipv4(opts.replyFrom))
        st = CT_TRK | CT_EST | CT_RPL;
      if (req.commit) committed.add(tuple);
      p.ctState = st;
      p.ctZone = req.zone;
    },
    portName: (p: number) => `port${p}`,
  };
}

const pod = (dst = '10.128.0.3', extra: Partial<Parameters<typeof ipFrame>[0]> = {}) =>
  ipFrame({ src: '10.128.0.2', dst, ...extra });

describe('matching', () => {
  it('the highest priority wins; a missing table drops with a reason', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addFlows(`
      table=0,priority=10,ip actions=output:5
      table=0,priority=20,ip,nw_dst=10.128.0.0/14 actions=output:6
      table=0,priority=30,ip,nw_dst=10.128.0.3 actions=goto_table:7
    `);
    b.process(packet(pod('10.128.0.4'), 1));
    b.process(packet(pod('192.168.1.1'), 1));
    b.process(packet(pod('10.128.0.3'), 1));
    expect(h.outs.map((o) => o.port)).toEqual([6, 5]);
    expect(b.drops.get('no flow matched in table 7')).toBe(1);
  });

  it('prefix, mask and exact fields: nw_src/nw_dst, dl_dst mask, tp_dst mask, regs, ct_state, tun fields', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addFlows(`
      table=0,priority=100,udp,tp_dst=0x1000/0xf000 actions=output:11
      table=0,priority=90,ip,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=output:12
      table=0,priority=80,tun_id=0x7b,tun_src=192.168.0.6,ip actions=output:13
      table=0,priority=70,ip,ct_state=+trk-est actions=output:14
      table=0,priority=60,ip,nw_src=10.128.0.0/14,nw_ttl=64 actions=output:15
      table=0,priority=0 actions=drop
    `);
    const run = (frame: Buffer, setup: (p: PacketBuffer) => void = () => {}) => {
      const p = packet(frame, 3);
      setup(p);
      h.outs.length = 0;
      b.process(p);
      return h.outs[0]?.port;
    };
    expect(run(pod('10.0.0.1', { dport: 0x1234 }))).toBe(11);
    expect(run(pod('10.0.0.1', { dport: 0x2234 }))).toBe(15);
    expect(run(pod('10.0.0.1', { dstMac: '01:00:5e:00:00:01', dport: 80 }))).toBe(12);
    expect(
      run(pod('10.0.0.1', { dport: 80 }), (p) => {
        p.tunId = 0x7b;
        p.tunSrc = ipv4('192.168.0.6');
      }),
    ).toBe(13);
    expect(
      run(pod('10.0.0.1', { dport: 80 }), (p) => {
        p.tunId = 0x7c;
        p.tunSrc = ipv4('192.168.0.6');
      }),
    ).toBe(15);
    expect(
      run(pod('10.0.0.1', { dport: 80 }), (p) => {
        p.ctState = CT_TRK | CT_NEW;
      }),
    ).toBe(14);
    expect(
      run(pod('10.0.0.1', { dport: 80 }), (p) => {
        p.ctState = CT_TRK | CT_EST;
      }),
    ).toBe(15);
    expect(run(ipFrame({ src: '10.132.0.2', dst: '10.0.0.1', dport: 80 }))).toBeUndefined();
    expect(run(pod('10.0.0.1', { dport: 80, ttl: 63 }))).toBeUndefined();
  });

  it('ARP fields: arp_op, arp_spa/arp_tpa prefixes and a masked arp_sha', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addFlows(`
      table=0,priority=100,in_port=3,arp,arp_spa=10.128.0.2,arp_sha=00:00:0a:80:00:02/00:00:ff:ff:ff:ff actions=goto_table:40
      table=40,priority=100,arp,arp_op=1,arp_tpa=10.128.0.0/23 actions=output:4
      table=40,priority=90,arp,arp_op=2 actions=output:5
    `);
    b.process(packet(arpFrame(1, '0a:58:0a:80:00:02', '10.128.0.2', '10.128.1.9'), 3));
    b.process(packet(arpFrame(2, '0a:58:0a:80:00:02', '10.128.0.2', '10.128.0.9'), 3));
    b.process(packet(arpFrame(1, '0a:58:0a:80:00:03', '10.128.0.2', '10.128.0.9'), 3)); // spoofed MAC
    expect(h.outs.map((o) => o.port)).toEqual([4, 5]);
    expect(b.drops.get('no flow matched in table 0')).toBe(1);
  });

  it('re-adding a flow with the same match and priority replaces it (and its counters)', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addFlow('table=0,priority=5,ip actions=output:1');
    b.process(packet(pod(), 3));
    b.addFlow('table=0,priority=5,ip actions=output:2');
    b.process(packet(pod(), 3));
    expect(h.outs.map((o) => o.port)).toEqual([1, 2]);
    expect(b.flowCount()).toBe(1);
    expect(b.dumpFlows()).toBe(
      ` cookie=0x0, duration=0.000s, table=0, n_packets=1, n_bytes=${pod().length}, priority=5,ip actions=output:2\n`,
    );
  });

  it('del-flows removes flows at least as specific as the filter', () => {
    const b = new Bridge('br0', fakeHost());
    b.addFlows(`
      table=20,priority=100,in_port=3,ip,nw_src=10.128.0.2 actions=load:0x2a->NXM_NX_REG0[],goto_table:27
      table=20,priority=100,in_port=3,arp,arp_spa=10.128.0.2 actions=goto_table:30
      table=20,priority=100,in_port=4,ip,nw_src=10.128.0.3 actions=goto_table:27
      table=25,priority=100,ip,nw_src=10.128.0.2 actions=goto_table:27
      cookie=0x99,table=10,priority=100,tun_src=10.0.0.1 actions=goto_table:30
    `);
    expect(b.delFlows('table=20,in_port=3')).toBe(2);
    expect(b.delFlows('ip,nw_src=10.128.0.2')).toBe(1);
    expect(b.delFlows('cookie=0x99/-1')).toBe(1);
    expect(b.dumpFlows({ counters: false })).toBe(
      ' table=20, priority=100,ip,in_port=4,nw_src=10.128.0.3 actions=goto_table:27\n',
    );
  });
});

describe('actions', () => {
  it('load and move on bit ranges of registers and tun_id', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addFlow(
      'table=0,ip actions=load:0xabcd->NXM_NX_REG0[16..31],load:0x1->NXM_NX_REG0[3],move:NXM_NX_REG0[16..23]->NXM_NX_TUN_ID[0..7],load:0x1ff->NXM_NX_TUN_ID[28..36],move:NXM_NX_REG0[]->NXM_NX_REG5[],move:NXM_NX_REG5[0..15]->NXM_NX_REG1[8..23],output:1',
    );
    const p = packet(pod(), 3);
    b.process(p);
    expect(h.outs[0]!.reg0).toBe(0xabcd0008);
    expect(p.reg1).toBe(0x000800);
    // 0x1ff at bits 28..36 straddles the two 32-bit halves of tun_id: 0x1f_f00000cd.
    expect(h.outs[0]!.tunId).toBe(0x1ff00000cd);
  });

  it('set_field on eth and IPv4 addresses rewrites the bytes with valid checksums (UDP and TCP)', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addFlow(
      'table=0,ip actions=set_field:0a:58:0a:83:00:01->eth_dst,set_field:1.2.3.4->ip_dst,set_field:172.30.99.1->nw_src,output:1',
    );
    for (const proto of ['udp', 'tcp'] as const) {
      h.outs.length = 0;
      b.process(packet(ipFrame({ src: '10.128.0.2', dst: '10.128.0.3', proto, sport: 4242, dport: 8080 }), 3));
      const out = Buffer.from(h.outs[0]!.hex, 'hex');
      expect(toHex(out, 0, 6)).toBe('0a580a830001');
      expect(readU32(out, 30)).toBe(ipv4('1.2.3.4'));
      expect(readU32(out, 26)).toBe(ipv4('172.30.99.1'));
      expect(checksumsValid(out)).toBe(true);
    }
    // An unchecked UDP datagram (checksum 0) stays unchecked.
    const f = ipFrame({ src: '10.128.0.2', dst: '10.128.0.3' });
    f[40] = f[41] = 0;
    h.outs.length = 0;
    b.process(packet(f, 3));
    expect(readU16(Buffer.from(h.outs[0]!.hex, 'hex'), 40)).toBe(0);
  });

  it('skips output to the input port, but in_port/IN_PORT sends it back', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addFlows(`
      table=0,priority=10,in_port=3 actions=output:3,output:4
      table=0,priority=10,in_port=5 actions=output:5
      table=0,priority=10,in_port=6 actions=in_port
    `);
    b.process(packet(pod(), 3));
    b.process(packet(pod(), 5));
    b.process(packet(pod(), 6));
    expect(h.outs.map((o) => o.port)).toEqual([4, 6]);
    expect(b.drops.get('table 0 priority 10: output to in_port skipped')).toBe(1);
  });

  it('output:NXM_NX_REG2[] outputs to the port in reg2; several outputs get independent copies', () => {
    const pool = new BufferPool();
    const h = fakeHost();
    const b = new Bridge('br0', h, { pool });
    b.addFlows(`
      table=0,ip actions=load:7->NXM_NX_REG2[],goto_table:80
      table=80,ip actions=output:NXM_NX_REG2[],set_field:0a:00:00:00:00:09->eth_dst,output:8
    `);
    const p = packet(pod(), 3);
    expect(b.process(p)).toBe(true); // the last output took the caller's buffer
    expect(h.outs.map((o) => o.port)).toEqual([7, 8]);
    expect(h.outs[0]!.hex.slice(0, 12)).toBe('0a580a800001');
    expect(h.outs[1]!.hex.slice(0, 12)).toBe('0a0000000009');
  });

  it('a select group picks the same bucket for the same flow and spreads different flows', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addGroup(
      'group_id=37,type=select,bucket=actions=set_field:10.0.0.1->tun_dst,output:1,bucket=actions=set_field:10.0.0.2->tun_dst,output:1',
    );
    b.addFlow('table=0,ip actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],group:37');
    const pick = (sport: number) => {
      h.outs.length = 0;
      b.process(packet(pod('8.8.8.8', { sport }), 3));
      return h.outs[0]!.tunDst;
    };
    const first = Array.from({ length: 40 }, (_, i) => pick(1000 + i));
    const again = Array.from({ length: 40 }, (_, i) => pick(1000 + i));
    expect(again).toEqual(first);
    expect(new Set(first)).toEqual(new Set([ipv4('10.0.0.1'), ipv4('10.0.0.2')]));
  });

  it('an all group runs every bucket on the flow as it was before the group', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addGroup('group_id=1,type=all,bucket=actions=set_field:7->pkt_mark,output:4,bucket=actions=output:5');
    b.addFlow('table=0,ip actions=group:1');
    b.process(packet(pod(), 3));
    expect(h.outs.map((o) => [o.port, o.pktMark])).toEqual([
      [4, 7],
      [5, 0],
    ]);
  });

  it('flows that reference a missing group are rejected, as OVS does', () => {
    const b = new Bridge('br0', fakeHost());
    expect(() => b.addFlow('table=0,ip actions=group:9')).toThrow(/OFPBAC_BAD_OUT_GROUP/);
  });

  it('resubmit loops stop at depth 64 with a traced error and a counted drop', () => {
    const b = new Bridge('br0', fakeHost());
    b.addFlows('table=0,priority=10 actions=resubmit(,7),output:1\ntable=7,priority=10 actions=resubmit(,7),output:2');
    const t = new TraceRecorder();
    b.process(packet(pod(), 5), t);
    expect(b.drops.get('over max translation depth 64')).toBe(1);
    expect(renderBridgeTrace(t.root)).toMatch(/>>>> over max translation depth 64 <<<</);
  });

  it('dec_ttl decrements the TTL and patches the checksum', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addFlow('table=0,ip actions=dec_ttl,output:1');
    b.process(packet(pod('10.128.0.3', { ttl: 9 }), 3));
    const out = Buffer.from(h.outs[0]!.hex, 'hex');
    expect(out[22]).toBe(8);
    expect(checksumsValid(out)).toBe(true);
  });
});

describe('conntrack and recirculation', () => {
  const FLOWS = `
    table=0,priority=1000,ip,ct_state=-trk actions=ct(table=0)
    table=0,priority=100,ip actions=load:0x2a->NXM_NX_REG0[],load:0x5->NXM_NX_REG5[],goto_table:30
    table=30,priority=100,ip,ct_state=+new actions=ct(commit,table=31)
    table=30,priority=0 actions=goto_table:31
    table=31,priority=200,ip,ct_state=+est,reg5=5 actions=output:4
    table=31,priority=100,ip,ct_state=+new,reg0=0x2a actions=output:3
  `;

  it('ct(table=N) runs conntrack and resumes at table N with registers kept', () => {
    const h = fakeHost();
    const b = new Bridge('br0', h);
    b.addFlows(FLOWS);
    expect(b.process(packet(pod(), 2))).toBe(true);
    expect(h.outs.map((o) => [o.port, o.ctState])).toEqual([[3, CT_TRK | CT_NEW]]);
    expect(h.cts).toEqual([
      { commit: false, nat: false, zone: 0, table: 0 },
      { commit: true, nat: false, zone: 0, table: 31 },
    ]);
    b.process(packet(pod(), 2));
    expect(h.outs.map((o) => o.port)).toEqual([3, 4]);
    const counts = b.flows().map((r) => r.nPackets);
    expect(counts).toEqual([2, 2, 1, 1, 1, 1]);
  });

  it('traces in the layout of ofproto/trace, with recirculation sections', () => {
    const b = new Bridge('br0', fakeHost());
    b.addFlows(FLOWS);
    const t = new TraceRecorder();
    b.process(packet(pod('10.128.0.3', { proto: 'udp', sport: 1234, dport: 5678 }), 2), t);
    const text = renderBridgeTrace(t.root);
    expect(
      text,
    ).toBe(`Flow: udp,in_port=2,vlan_tci=0x0000,dl_src=0a:58:0a:80:00:02,dl_dst=0a:58:0a:80:00:01,nw_src=10.128.0.2,nw_dst=10.128.0.3,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=5678

bridge("br0")
-------------
 0. ct_state=-trk,ip, priority 1000
    ct(table=0)
    drop
     -> A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table 0.
     -> Sets the packet to an untracked state, and clears all the conntrack fields.

Final flow: unchanged
Datapath actions: ct,recirc(0x1)

===============================================================================
recirc(0x1) - resume conntrack with ct_state=new|trk
===============================================================================

Flow: recirc_id=0x1,ct_state=new|trk,eth,udp,in_port=2,vlan_tci=0x0000,dl_src=0a:58:0a:80:00:02,dl_dst=0a:58:0a:80:00:01,nw_src=10.128.0.2,nw_dst=10.128.0.3,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=5678

bridge("br0")
-------------
    thaw
        Resuming from table 0
 0. ip, priority 100
    load:0x2a->NXM_NX_REG0[]
    load:0x5->NXM_NX_REG5[]
    goto_table:30
30. ct_state=+new,ip, priority 100
    ct(commit,table=31)
    drop
     -> A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table 31.
     -> Sets the packet to an untracked state, and clears all the conntrack fields.

Final flow: recirc_id=0x1,eth,udp,reg0=0x2a,reg5=0x5,in_port=2,vlan_tci=0x0000,dl_src=0a:58:0a:80:00:02,dl_dst=0a:58:0a:80:00:01,nw_src=10.128.0.2,nw_dst=10.128.0.3,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=5678
Datapath actions: ct(commit),recirc(0x2)

===============================================================================
recirc(0x2) - resume conntrack with ct_state=new|trk
===============================================================================

Flow: recirc_id=0x2,ct_state=new|trk,eth,udp,reg0=0x2a,reg5=0x5,in_port=2,vlan_tci=0x0000,dl_src=0a:58:0a:80:00:02,dl_dst=0a:58:0a:80:00:01,nw_src=10.128.0.2,nw_dst=10.128.0.3,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=5678

bridge("br0")
-------------
    thaw
        Resuming from table 31
31. ct_state=+new,ip,reg0=0x2a, priority 100
    output:3

Final flow: unchanged
Datapath actions: 3
`);
  });
});
