/**
 * Wireshark agrees with every byte the scenarios write: tshark dissects walk.pcapng and every per-interface pcap
 * with IPv4/UDP/TCP checksum validation on, finds no malformed frame, warning or bad checksum, and reads the
 * same addresses, VNIs and TTLs the walk is supposed to produce.
 *
 * In walk.pcapng the same TCP segment appears once per capture point, which Wireshark's TCP analysis calls a
 * retransmission; those analysis notes are ignored there (never in the one-interface pcaps).
 */

import { describe, expect, it } from 'vitest';
import { ipv4ToString } from '../../codecs/bytes.js';
import { SCENARIOS } from '../../src/scenarios/catalog.js';
import { hasTshark, TSHARK_MISSING, tsharkFields, tsharkProblems } from '../helpers/tshark.js';
import { listFiles, runToTemp } from './run-helpers.js';
import { join } from 'node:path';

if (!hasTshark) console.warn(TSHARK_MISSING);

const MULTI_INTERFACE_NOISE = [
  /retransmission/i,
  /ACKed segment that wasn't captured/i,
  /Previous segment/i,
  /out-of-order/i,
  /Dup(licate)? ACK/i,
  /spurious/i,
];

describe.skipIf(!hasTshark).each(SCENARIOS.map((s) => s.name))('tshark on scenario %s', (name) => {
  const r = runToTemp(name);

  it('finds no malformed frame, expert warning or bad checksum in any file', () => {
    for (const f of listFiles(r.dir).filter((x) => x.endsWith('.pcap') || x.endsWith('.pcapng'))) {
      const problems = tsharkProblems(join(r.dir, f), f === 'walk.pcapng' ? { ignore: MULTI_INTERFACE_NOISE } : {});
      expect(problems, `${name}/${f}`).toEqual([]);
    }
  });

  it('shows each capture point as a named interface with hop comments', () => {
    const rows = tsharkFields(join(r.dir, 'walk.pcapng'), [
      'frame.interface_name',
      'frame.comment',
      'frame.packet_flags_direction',
    ]);
    expect(rows.length).toBe(r.recorder.counts.reduce((a, b) => a + b, 0));
    const names = new Set(rows.map((x) => x[0]));
    for (const [i, p] of r.recorder.points.entries())
      if (r.recorder.counts[i]) expect(names.has(p.name), p.name).toBe(true);
    expect(rows.some((x) => x[1]!.startsWith('br0 table='))).toBe(true);
    expect(rows.every((x) => x[2] === '0x00000001' || x[2] === '0x00000002')).toBe(true);
  });

  it('encapsulates with the node IPs outside, the source VNID, TTL 64, DF and UDP checksum 0', () => {
    const cluster = r.cluster;
    const nodeIps = new Set(cluster.hostSubnets.map((h) => ipv4ToString(h.hostIP)));
    const rows = tsharkFields(
      join(r.dir, 'walk.pcapng'),
      ['vxlan.vni', 'ip.src', 'ip.dst', 'ip.ttl', 'ip.flags.df', 'udp.checksum', 'udp.dstport', 'frame.interface_name'],
      { filter: 'vxlan' },
    );
    for (const [vni, src, dst, ttl, df, udpSum, dport, ifName] of rows) {
      const [outerSrc, innerSrc] = src!.split(','),
        [outerDst] = dst!.split(',');
      expect(nodeIps.has(outerSrc!), `${ifName}: outer source ${outerSrc}`).toBe(true);
      expect(nodeIps.has(outerDst!), `${ifName}: outer destination ${outerDst}`).toBe(true);
      expect(ttl!.split(',')[0]).toBe('64');
      expect(df!.split(',')[0]).toMatch(/^(1|True)$/);
      expect(udpSum!.split(',')[0]).toBe('0x0000');
      expect(dport!.split(',')[0]).toBe('4789');
      // VNI = the source's VNID (reg0): a pod's namespace VNID, 0 for the gateway/host and in subnet mode.
      const srcPod = cluster.pods.find((p) => !p.hostNetwork && ipv4ToString(p.ip) === innerSrc);
      if (srcPod && cluster.network.mode !== 'subnet') {
        const vnid = cluster.netNamespaces.find((n) => n.name === srcPod.namespace)!.netid;
        expect(+vni!, `${ifName}: VNI of a packet from ${srcPod.namespace}/${srcPod.name}`).toBe(vnid);
      }
    }
  });
});

describe.skipIf(!hasTshark)('tshark on the cross-node walk', () => {
  it('sees the SYN leave sqlapi, cross VXLAN 192.168.0.4 > 192.168.0.5 with VNI of project1, and reach server-1-ppl25 unchanged', () => {
    const r = runToTemp('pod-to-pod-cross-node');
    const rows = tsharkFields(
      join(r.dir, 'walk.pcapng'),
      ['frame.interface_name', 'ip.src', 'ip.dst', 'ip.ttl', 'vxlan.vni'],
      { filter: 'tcp.flags.syn == 1 && tcp.flags.ack == 0' },
    );
    const path = rows.map((x) => x[0]);
    expect(path).toEqual([
      'sqlapi-1-8jgx8/eth0',
      expect.stringMatching(/^worker-northeurope1-qt8l7\/veth[0-9a-f]{8}$/),
      'worker-northeurope1-qt8l7/vxlan0',
      'worker-northeurope1-qt8l7/eth0',
      'worker-northeurope3-wl4vw/eth0',
      'worker-northeurope3-wl4vw/vxlan0',
      expect.stringMatching(/^worker-northeurope3-wl4vw\/veth[0-9a-f]{8}$/),
      'server-1-ppl25/eth0',
    ]);
    const project1 = r.cluster.netNamespaces.find((n) => n.name === 'project1')!.netid;
    for (const [ifName, src, dst, ttl, vni] of rows) {
      if (ifName!.endsWith('/eth0') && ifName!.startsWith('worker')) {
        expect(src).toBe('192.168.0.4,10.131.0.40');
        expect(dst).toBe('192.168.0.5,10.128.2.24');
        expect(ttl).toBe('64,64');
        expect(+vni!).toBe(project1);
      } else {
        expect([src, dst, ttl]).toEqual(['10.131.0.40', '10.128.2.24', '64']);
      }
    }
  });
});
