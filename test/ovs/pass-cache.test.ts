/**
 * br0's pass cache (src/ovs/pass-cache.ts) must be invisible: an untraced packet, which may replay a cached pass,
 * has to leave exactly what a traced packet (which never uses the cache) leaves — outputs with their bytes and
 * metadata, conntrack requests, drop reasons and flow counters — and any flow or group change must be seen by
 * the very next packet.
 */

import { describe, expect, it } from 'vitest';
import { ipv4, toHex } from '../../codecs/bytes.js';
import { CT_EST, CT_NEW, CT_TRK, type PacketBuffer } from '../../src/buffer/packet-buffer.js';
import { Bridge, type BridgeHost } from '../../src/ovs/bridge.js';
import { TraceRecorder } from '../../src/trace/types.js';
import { prng, randInt } from '../helpers/prng.js';
import { ipFrame, packet } from './packets.js';

/** Records everything the bridge hands out; conntrack answers +new until the 5-tuple is committed, then +est. */
function recordingHost(): BridgeHost & { log: string[] } {
  const committed = new Set<string>();
  const log: string[] = [];
  return {
    log,
    output(port: number, p: PacketBuffer) {
      log.push(
        `out ${port} ${toHex(p.data, p.start, p.end)} reg0=${p.reg0} reg1=${p.reg1} reg2=${p.reg2} tun=${p.tunId}/${p.tunDst} mark=${p.pktMark} ct=${p.ctState}/${p.ctMark}`,
      );
    },
    conntrack(p: PacketBuffer, req) {
      const tuple = toHex(p.data, p.start + 23, p.start + 38);
      log.push(`ct ${JSON.stringify(req)} ${tuple}`);
      p.ctState = CT_TRK | (committed.has(tuple) ? CT_EST : CT_NEW);
      p.ctZone = req.zone;
      if (req.commit) committed.add(tuple);
    },
    portName: (p: number) => `port${p}`,
  };
}

// OpenShift-shaped: conntrack recirculation, metadata loads and moves, a select group, dec_ttl, output:REG,
// a masked tp_dst match, a miss into a missing table and a drop.
const FLOWS = `
  table=0,priority=1000,ip,ct_state=-trk actions=ct(table=0)
  table=0,priority=200,ip,in_port=1,nw_src=10.128.0.0/14 actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10
  table=0,priority=100,ip actions=goto_table:20
  table=10,priority=100,tun_src=192.168.0.4 actions=goto_table:30
  table=20,priority=100,ip,in_port=3,nw_src=10.128.0.2 actions=load:0x5b->NXM_NX_REG0[],goto_table:30
  table=20,priority=100,ip,in_port=4,nw_src=10.128.0.9 actions=load:0x7->NXM_NX_REG0[0..15],goto_table:30
  table=20,priority=0 actions=drop
  table=30,priority=300,ip,nw_dst=172.30.0.0/16 actions=group:7
  table=30,priority=200,ct_state=+trk+new,ip actions=ct(commit,table=31)
  table=30,priority=100,ct_state=+trk+est,ip actions=goto_table:31
  table=31,priority=200,udp,tp_dst=0x1000/0xf000 actions=goto_table:99
  table=31,priority=150,ip,nw_dst=10.128.0.0/24 actions=dec_ttl,load:0x3->NXM_NX_REG2[],load:0x2a->NXM_NX_REG1[],resubmit(,80)
  table=31,priority=100,ip,nw_dst=10.129.0.0/16 actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:192.168.0.5->tun_dst,output:1
  table=80,priority=50,reg1=0x2a actions=set_field:0a:58:0a:80:00:99->eth_dst,output:NXM_NX_REG2[],output:5
`;
const GROUPS = `group_id=7,type=select,bucket=actions=set_field:10.128.0.7->ip_dst,goto_table:31,bucket=actions=set_field:10.129.0.8->ip_dst,goto_table:31`;

function bridge(): { b: Bridge; host: ReturnType<typeof recordingHost> } {
  const host = recordingHost();
  const b = new Bridge('br0', host);
  b.addGroups(GROUPS);
  b.addFlows(FLOWS);
  return { b, host };
}

/** A small pool of packets, so keys repeat and the cache is hit. */
function randomPacket(rand: () => number): PacketBuffer {
  const srcs = ['10.128.0.2', '10.128.0.9', '10.130.0.4', '10.131.0.1'];
  const dsts = ['10.128.0.3', '10.129.4.5', '172.30.0.10', '8.8.8.8', '10.128.0.200'];
  const p = packet(
    ipFrame({
      src: srcs[randInt(rand, srcs.length)]!,
      dst: dsts[randInt(rand, dsts.length)]!,
      proto: randInt(rand, 2) ? 'tcp' : 'udp',
      sport: 1000 + randInt(rand, 3),
      dport: [80, 0x1234, 443][randInt(rand, 3)]!,
      ttl: [64, 1][randInt(rand, 8) === 0 ? 1 : 0],
    }),
    [1, 3, 4][randInt(rand, 3)]!,
  );
  if (p.inPort === 1) {
    p.tunId = 0x5b8c1d;
    p.tunSrc = randInt(rand, 2) ? ipv4('192.168.0.4') : ipv4('192.168.0.9');
  }
  return p;
}

describe('pass cache', () => {
  it('untraced packets (cached passes) leave exactly what traced packets (no cache) leave', () => {
    const traced = bridge(),
      fast = bridge();
    const r1 = prng(71),
      r2 = prng(71);
    for (let i = 0; i < 3000; i++) {
      const a = randomPacket(r1),
        b = randomPacket(r2);
      const ownedA = traced.b.process(a, new TraceRecorder());
      const ownedB = fast.b.process(b);
      expect(ownedB, `packet ${i}`).toBe(ownedA);
      expect(toHex(b.data, b.start, b.end)).toBe(toHex(a.data, a.start, a.end));
      expect(fast.b.lastDropReason()).toBe(traced.b.lastDropReason());
    }
    expect(fast.host.log).toEqual(traced.host.log);
    expect(fast.host.log.filter((l) => l.startsWith('out')).length).toBeGreaterThan(500);
    expect([...fast.b.drops]).toEqual([...traced.b.drops]);
    expect(fast.b.dumpFlows()).toBe(traced.b.dumpFlows());
  });

  it('sees every flow and group change on the next packet', () => {
    const { b, host } = bridge();
    const send = (): string => {
      host.log.length = 0;
      const p = packet(ipFrame({ src: '10.128.0.2', dst: '10.129.4.5', proto: 'tcp' }), 3);
      b.process(p);
      return (
        host.log
          .filter((l) => l.startsWith('out'))
          .map((l) => l.split(' ')[1])
          .join(',') || b.lastDropReason()
      );
    };
    expect(send()).toBe('1');
    expect(send()).toBe('1');
    b.addFlow('table=31,priority=120,ip,nw_dst=10.129.4.5 actions=output:9');
    expect(send()).toBe('9');
    b.addFlow('table=31,priority=120,ip,nw_dst=10.129.4.5 actions=output:8');
    expect(send()).toBe('8');
    b.delFlows('table=31,ip,nw_dst=10.129.4.5');
    expect(send()).toBe('1');
    b.delFlows('table=31');
    expect(send()).toBe('no flow matched in table 31');
    b.addFlow('table=31,priority=1,ip actions=group:7');
    b.addFlow('table=32,priority=1,ip actions=output:4');
    b.addGroup('group_id=7,type=select,bucket=actions=output:6');
    expect(send()).toBe('6');
    b.addGroup('group_id=7,type=select,bucket=actions=goto_table:32');
    expect(send()).toBe('4');
    // The first pass is keyed on its words too: a packet that differs only in a word some flow matches.
    b.addFlow('table=0,priority=2000,tcp,tp_src=1234 actions=output:7');
    expect(send()).toBe('7');
  });

  it('keys on words read by actions even when no flow matches them', () => {
    const host = recordingHost();
    const b = new Bridge('br0', host);
    // reg0 comes from tun_id (no flow matches tun_id), and the next table matches reg0.
    b.addFlows(`
      table=0,priority=10,ip actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:1
      table=1,priority=10,reg0=0x1 actions=output:11
      table=1,priority=5 actions=output:12
    `);
    const send = (tunId: number): string => {
      host.log.length = 0;
      const p = packet(ipFrame({ src: '10.0.0.1', dst: '10.0.0.2' }), 2);
      p.tunId = tunId;
      b.process(p);
      return host.log[0]!.split(' ')[1]!;
    };
    expect([send(1), send(2), send(1), send(2)]).toEqual(['11', '12', '11', '12']);
  });
});
