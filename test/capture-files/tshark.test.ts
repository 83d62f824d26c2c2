/**
 * Wireshark reads what we write: tshark and capinfos (independent implementations of pcap and pcapng) decode our
 * files, interface names, comments, directions and timestamps. Frames are built by hand here with the IPv4 codec
 * and the checksum helpers, so the checksum pass also checks those.
 */

import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, ipv4, mac, writeMac, writeU16, writeU32 } from '../../codecs/bytes.js';
import { finishChecksum, internetChecksum, pseudoHeaderSum, sum16 } from '../../codecs/checksum.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_UDP } from '../../codecs/ipv4.js';
import { writeFileWithSink } from '../../codecs/file-sink.js';
import { PcapngWriter } from '../../codecs/pcapng.js';
import { scratchPath, writeTempPcap } from '../helpers/pcap-inline.js';
import { capinfos, hasCapinfos, hasTshark, TSHARK_MISSING, tsharkFields, tsharkProblems } from '../helpers/tshark.js';

if (!hasTshark) console.warn(TSHARK_MISSING);

const POD_A_MAC = mac('0a:58:0a:80:00:05');
const GW_MAC = mac('0a:58:0a:80:00:01');
const NODE1_MAC = mac('52:54:00:aa:00:0b');
const NODE2_MAC = mac('52:54:00:aa:00:0c');

/** Ethernet header; returns the offset after it. */
function ethernet(b: Uint8Array, o: number, dst: number, src: number): number {
  writeMac(b, o, dst);
  writeMac(b, o + 6, src);
  writeU16(b, o + 12, 0x0800);
  return o + 14;
}

/** Ethernet + IPv4 + ICMP echo request with a 16-byte payload; every checksum correct. */
function icmpEcho(src: string, dst: string, seq: number): Buffer {
  const b = Buffer.alloc(14 + 20 + 8 + 16);
  let o = ethernet(b, 0, GW_MAC, POD_A_MAC);
  o += emitIpv4(
    { protocol: IPPROTO_ICMP, src: ipv4(src), dst: ipv4(dst), identification: seq, dontFragment: true },
    b,
    o,
    24,
  );
  b[o] = 8; // echo request
  writeU16(b, o + 4, 0x1234); // identifier
  writeU16(b, o + 6, seq);
  for (let i = 0; i < 16; i++) b[o + 8 + i] = 0x20 + i;
  writeU16(b, o + 2, internetChecksum(b, o, 24));
  return b;
}

/** The inner frame inside Ethernet + IPv4 + UDP 4789 + VXLAN (RFC 7348), UDP checksum computed. */
function vxlanEncap(inner: Uint8Array, vni: number): Buffer {
  const udpLen = 8 + 8 + inner.length;
  const b = Buffer.alloc(14 + 20 + udpLen);
  let o = ethernet(b, 0, NODE2_MAC, NODE1_MAC);
  const src = ipv4('192.168.126.11'),
    dst = ipv4('192.168.126.12');
  o += emitIpv4({ protocol: IPPROTO_UDP, src, dst, ttl: 64 }, b, o, udpLen);
  writeU16(b, o, 51234); // source port (not 49152, which tcpdump mistakes for BCM-LI)
  writeU16(b, o + 2, 4789);
  writeU16(b, o + 4, udpLen);
  b[o + 8] = 0x08; // I flag
  writeU32(b, o + 12, vni << 8);
  b.set(inner, o + 16);
  const sum = finishChecksum(sum16(b, o, udpLen, pseudoHeaderSum(src, dst, IPPROTO_UDP, udpLen)));
  writeU16(b, o + 6, sum === 0 ? 0xffff : sum);
  return b;
}

describe.skipIf(!hasTshark)('tshark reads our captures', () => {
  it('shows interface names, descriptions, comments, directions and nanosecond times of a 3-interface pcapng', () => {
    const ping = icmpEcho('10.128.0.5', '10.129.0.7', 1);
    const file = scratchPath('three-interfaces.pcapng');
    writeFileWithSink(file, (sink) => {
      const w = new PcapngWriter(sink);
      const veth = w.addInterface({ name: 'veth1a2b3c4d', description: 'pod default/web-1 eth0 peer' });
      w.writePacket(veth, 1_000_000_001, ping, 0, ping.length, {
        direction: 'inbound',
        comment: 'from pod web-1, icmp echo',
      });
      // vxlan0 and eth0 are described only once their first packet is due (IDBs may follow packets).
      const vxlan = w.addInterface({ name: 'vxlan0', description: 'OVS VXLAN port, VNI from reg0' });
      w.writePacket(vxlan, 1_000_002_500, ping, 0, ping.length, {
        direction: 'outbound',
        comment: 'table=90, set_field:10.0.0.12->tun_dst',
      });
      const eth0 = w.addInterface({ name: 'eth0', description: 'node NIC' });
      const encap = vxlanEncap(ping, 0xabcd);
      w.writePacket(eth0, 1_000_003_000, encap, 0, encap.length, { direction: 'outbound' });
    });

    const rows = tsharkFields(file, [
      'frame.number',
      'frame.interface_id',
      'frame.interface_name',
      'frame.interface_description',
      'frame.comment',
      'frame.packet_flags_direction',
      'frame.time_epoch',
      'frame.len',
      'vxlan.vni',
      'ip.src',
      'icmp.seq',
    ]);
    // frame.packet_flags_direction prints as 0x00000001 (inbound) / 0x00000002 (outbound).
    expect(rows.map((r) => r.map((cell, i) => (i === 5 ? String(Number(cell)) : cell)))).toEqual([
      [
        '1',
        '0',
        'veth1a2b3c4d',
        'pod default/web-1 eth0 peer',
        'from pod web-1, icmp echo',
        '1',
        '1.000000001',
        '58',
        '',
        '10.128.0.5',
        '1',
      ],
      [
        '2',
        '1',
        'vxlan0',
        'OVS VXLAN port, VNI from reg0',
        'table=90, set_field:10.0.0.12->tun_dst',
        '2',
        '1.000002500',
        '58',
        '',
        '10.128.0.5',
        '1',
      ],
      ['3', '2', 'eth0', 'node NIC', '', '2', '1.000003000', '108', '43981', '192.168.126.11,10.128.0.5', '1'],
    ]);

    expect(tsharkProblems(file)).toEqual([]);
    expect(
      tsharkFields(file, ['ip.checksum.status', 'udp.checksum.status', 'icmp.checksum.status'], { checksums: true }),
    ).toEqual([
      ['1', '', '1'],
      ['1', '', '1'],
      ['1,1', '1', '1'], // outer and inner IPv4 both verified; the VXLAN UDP checksum verified too
    ]);
    expect(tsharkFields(file, ['frame.number'], { filter: 'frame.interface_name == "vxlan0"' })).toEqual([['2']]);
  });

  it.skipIf(!hasCapinfos)('capinfos lists the three interfaces with nanosecond resolution', () => {
    const file = scratchPath('capinfos.pcapng');
    writeFileWithSink(file, (sink) => {
      const w = new PcapngWriter(sink);
      for (const name of ['veth1a2b3c4d', 'vxlan0', 'eth0'])
        w.writePacket(w.addInterface({ name }), 5, icmpEcho('10.128.0.5', '10.128.0.6', 1));
    });
    const out = capinfos(file, ['-I']);
    expect(out).toMatch(/Number of interfaces in file: 3/);
    expect([...out.matchAll(/Name = (\S+)/g)].map((m) => m[1])).toEqual(['veth1a2b3c4d', 'vxlan0', 'eth0']);
    expect([...out.matchAll(/Time precision = nanoseconds \(9\)/g)].length).toBe(3);
    expect(capinfos(file, ['-M'])).toMatch(/Capture application:\s+packetwalk/);
  });

  it('reads the hand-checked golden pcapng of the unit tests the way we do', () => {
    // Same bytes as SHB_HEX + IDB_HEX + EPB_HEX in pcapng.test.ts, checked here by an independent reader.
    const file = scratchPath('golden.pcapng');
    writeFileSync(
      file,
      fromHex(`
      0a0d0d0a 30000000 4d3c2b1a 0100 0000 ffffffff ffffffff 0400 0a00 7061636b657477616c6b 0000 0000 0000 30000000
      01000000 34000000 0100 0000 00000400 0200 0400 65746830 0300 0800 6e6f6465204e4943 0900 0100 09000000 00000000 34000000
      06000000 3c000000 00000000 01000000 02000000 05000000 05000000 deadbeef01000000 0100 0200 6869 0000 0200 0400 02000000 00000000 3c000000`),
    );
    expect(
      tsharkFields(file, [
        'frame.interface_name',
        'frame.interface_description',
        'frame.comment',
        'frame.packet_flags_direction',
        'frame.time_epoch',
        'frame.cap_len',
      ]),
    ).toEqual([['eth0', 'node NIC', 'hi', '0x00000002', '4.294967298', '5']]);
  });

  it('reads classic pcaps with nanosecond and microsecond timestamps and cut frames', () => {
    const frames = [icmpEcho('10.128.0.5', '10.128.0.6', 1), icmpEcho('10.128.0.6', '10.128.0.5', 2)];
    const ns = writeTempPcap(frames, { resolution: 'ns', tsNs: [1_500_000_123, 86_400_000_000_001], name: 'ns.pcap' });
    expect(tsharkFields(ns, ['frame.time_epoch', 'frame.len', 'icmp.seq'])).toEqual([
      ['1.500000123', '58', '1'],
      ['86400.000000001', '58', '2'],
    ]);
    expect(tsharkProblems(ns)).toEqual([]);
    const us = writeTempPcap(frames, {
      resolution: 'us',
      tsNs: [1_500_000_123, 2_000_001_999],
      snaplen: 40,
      name: 'us.pcap',
    });
    expect(tsharkFields(us, ['frame.time_epoch', 'frame.len', 'frame.cap_len'])).toEqual([
      ['1.500000000', '58', '40'],
      ['2.000001000', '58', '40'],
    ]);
  });

  it('tsharkProblems reports a wrong checksum (the oracle can fail)', () => {
    const bad = icmpEcho('10.128.0.5', '10.128.0.6', 1);
    bad[14 + 10]! ^= 0xff; // corrupt the IPv4 header checksum
    const file = writeTempPcap([icmpEcho('10.128.0.5', '10.128.0.6', 1), bad], { name: 'bad.pcap' });
    const problems = tsharkProblems(file);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^frame 2: .*bad ip checksum/);
  });
});
