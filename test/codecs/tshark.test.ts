/**
 * Cross-check against tshark (a dissector nobody here wrote): frames built from scratch by the emitters and
 * VxlanEncapTemplate must dissect as the expected protocol stack with every checksum good, and our dissector
 * must agree with tshark's layer list, frame by frame.
 */

import { describe, expect, it } from 'vitest';
import { fromHex, ipv4, mac, MAC_BROADCAST, writeU16 } from '../../codecs/bytes.js';
import { ARP_REQUEST, emitArp } from '../../codecs/arp.js';
import { dissect, Dissection } from '../../codecs/dissect.js';
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, padEthernetFrame } from '../../codecs/ethernet.js';
import { emitIcmp, ICMP_ECHO_REQUEST } from '../../codecs/icmp.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../codecs/ipv4.js';
import { emitTcp, TCP_SYN, tcpEncodingLength } from '../../codecs/tcp.js';
import { emitUdp } from '../../codecs/udp.js';
import { flowHash5, VxlanEncapTemplate, vxlanSourcePort } from '../../codecs/vxlan-encap.js';
import { hasTshark, tsharkFields } from './tshark-helper.js';

const HEADROOM = 128;
const POD_A = ipv4('10.131.0.40'),
  POD_B = ipv4('10.128.2.24');
const MAC_A = mac('0a:58:0a:83:00:28'),
  MAC_B = mac('0a:58:0a:80:02:18');
const TUNNEL = new VxlanEncapTemplate({
  srcMac: mac('02:00:c0:a8:00:04'),
  dstMac: mac('02:00:c0:a8:00:05'),
  srcIp: ipv4('192.168.0.4'),
  dstIp: ipv4('192.168.0.5'),
});

/** Build a frame innermost first into headroom-backed memory, as the data path does; returns its bytes. */
class Builder {
  readonly buf = new Uint8Array(HEADROOM + 2048);
  start = HEADROOM;
  end = HEADROOM;
  payload(bytes: Uint8Array): this {
    this.buf.set(bytes, this.start);
    this.end = this.start + bytes.length;
    return this;
  }
  prepend(n: number, write: (buf: Uint8Array, at: number, payloadLength: number) => void): this {
    const payloadLength = this.end - this.start;
    this.start -= n;
    write(this.buf, this.start, payloadLength);
    return this;
  }
  bytes(): Uint8Array {
    return this.buf.slice(this.start, this.end);
  }
}

function synFrame(): Builder {
  const tcp = {
    srcPort: 41000,
    dstPort: 1433,
    seq: 1000,
    ack: 0,
    flags: TCP_SYN,
    window: 64860,
    options: fromHex('020405aa0402080a0000000100000000010303'),
  };
  return new Builder()
    .payload(new Uint8Array(0))
    .prepend(tcpEncodingLength(tcp), (b, at, n) => emitTcp(tcp, b, at, n, POD_A, POD_B))
    .prepend(20, (b, at, n) =>
      emitIpv4({ protocol: IPPROTO_TCP, src: POD_A, dst: POD_B, dontFragment: true, identification: 0x4d2 }, b, at, n),
    )
    .prepend(14, (b, at) => emitEthernet({ dst: MAC_B, src: MAC_A, ethertype: ETHERTYPE_IPV4 }, b, at));
}

function echoFrame(): Builder {
  const data = new Uint8Array(56).map((_, i) => i);
  return new Builder()
    .payload(data)
    .prepend(8, (b, at, n) => emitIcmp({ type: ICMP_ECHO_REQUEST, code: 0, identifier: 7, sequence: 3 }, b, at, n))
    .prepend(20, (b, at, n) => emitIpv4({ protocol: IPPROTO_ICMP, src: POD_A, dst: POD_B }, b, at, n))
    .prepend(14, (b, at) => emitEthernet({ dst: MAC_B, src: MAC_A, ethertype: ETHERTYPE_IPV4 }, b, at));
}

function arpFrame(): Builder {
  return new Builder()
    .payload(new Uint8Array(0))
    .prepend(28, (b, at) =>
      emitArp({ op: ARP_REQUEST, senderMac: MAC_A, senderIp: POD_A, targetMac: 0, targetIp: POD_B }, b, at),
    )
    .prepend(14, (b, at) => emitEthernet({ dst: MAC_BROADCAST, src: MAC_A, ethertype: ETHERTYPE_ARP }, b, at));
}

/** A UDP datagram whose checksum computes to 0, so it must go out as 0xffff. */
function udpZeroSumFrame(): Builder {
  const data = new Uint8Array(6);
  const probe = new Uint8Array(14);
  probe.set(data, 8);
  emitUdp({ srcPort: 50000, dstPort: 50001 }, probe, 0, 6, POD_A, POD_B);
  const c = (probe[6]! << 8) | probe[7]!;
  data[0] = c >>> 8;
  data[1] = c & 0xff;
  return new Builder()
    .payload(data)
    .prepend(8, (b, at, n) => emitUdp({ srcPort: 50000, dstPort: 50001 }, b, at, n, POD_A, POD_B))
    .prepend(20, (b, at, n) => emitIpv4({ protocol: IPPROTO_UDP, src: POD_A, dst: POD_B }, b, at, n))
    .prepend(14, (b, at) => emitEthernet({ dst: MAC_B, src: MAC_A, ethertype: ETHERTYPE_IPV4 }, b, at));
}

/** Encapsulate a built frame in place (no copy of the inner frame). */
function vxlan(f: Builder, vni: number, srcPort: number, ipId: number): Builder {
  f.start = TUNNEL.encapsulate(f.buf, f.start, f.end, vni, srcPort, ipId);
  return f;
}

/** tshark's frame.protocols in our layer names: drop `ethertype`, ip -> ipv4, data -> payload. */
function asOurs(tsharkProtocols: string): string {
  return tsharkProtocols
    .split(':')
    .filter((p) => p !== 'ethertype')
    .map((p) => (p === 'ip' ? 'ipv4' : p === 'data' ? 'payload' : p))
    .join(':');
}

const FIELDS = [
  'frame.protocols',
  'ip.checksum.status',
  'udp.checksum.status',
  'tcp.checksum.status',
  'icmp.checksum.status',
  'vxlan.vni',
  'vxlan.flags',
  'udp.srcport',
  '_ws.expert.severity',
  '_ws.malformed',
];
const WARNING = 0x00600000; // expert severity: chat 0x200000, note 0x400000, warn 0x600000, error 0x800000

describe.skipIf(!hasTshark)('tshark cross-check', () => {
  it('dissects emitted and encapsulated frames as expected, with every checksum good', () => {
    const sport = vxlanSourcePort(flowHash5(POD_A, POD_B, IPPROTO_TCP, 41000, 1433));
    const arpPadded = arpFrame();
    arpPadded.end = padEthernetFrame(arpPadded.buf, arpPadded.start, arpPadded.end);
    const frames = [
      vxlan(synFrame(), 0x1234, sport, 1).bytes(),
      vxlan(echoFrame(), 0, 50000, 2).bytes(),
      vxlan(arpFrame(), 0xffffff, 33000, 3).bytes(),
      synFrame().bytes(),
      arpPadded.bytes(),
      udpZeroSumFrame().bytes(),
    ];
    const rows = tsharkFields(frames, FIELDS);
    expect(rows.length).toBe(frames.length);

    expect(rows[0]).toMatchObject({
      'frame.protocols': 'eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp',
      'ip.checksum.status': '1,1',
      'udp.checksum.status': '3',
      'tcp.checksum.status': '1',
      'vxlan.vni': String(0x1234),
      'vxlan.flags': '0x0800',
      'udp.srcport': String(sport),
      '_ws.malformed': '',
    });
    expect(sport).toBeGreaterThanOrEqual(32768);
    expect(sport).toBeLessThan(61000);
    expect(rows[1]).toMatchObject({
      'frame.protocols': 'eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data',
      'ip.checksum.status': '1,1',
      'udp.checksum.status': '3',
      'icmp.checksum.status': '1',
      'vxlan.vni': '0',
    });
    expect(rows[2]).toMatchObject({
      'frame.protocols': 'eth:ethertype:ip:udp:vxlan:eth:ethertype:arp',
      'vxlan.vni': String(0xffffff),
    });
    expect(rows[3]).toMatchObject({
      'frame.protocols': 'eth:ethertype:ip:tcp',
      'ip.checksum.status': '1',
      'tcp.checksum.status': '1',
    });
    expect(rows[4]).toMatchObject({ 'frame.protocols': 'eth:ethertype:arp' });
    expect(rows[5]).toMatchObject({ 'frame.protocols': 'eth:ethertype:ip:udp:data', 'udp.checksum.status': '1' });
    expect((frames[5]![40]! << 8) | frames[5]![41]!).toBe(0xffff);

    const d = new Dissection();
    rows.forEach((row, i) => {
      const severities = row['_ws.expert.severity']!.split(',')
        .filter((s) => s !== '')
        .map(Number);
      expect(
        severities.every((s) => s < WARNING),
        `frame ${i} expert severities ${severities}`,
      ).toBe(true);
      dissect(frames[i]!, 0, frames[i]!.length, d, { verifyChecksums: true });
      expect(d.fault, `frame ${i}`).toBeUndefined();
      expect(d.protocols.replace(/:padding/g, ''), `frame ${i}`).toBe(asOurs(row['frame.protocols']!));
    });
  });

  it('agrees with tshark on bad checksums', () => {
    const badInnerTcp = vxlan(synFrame(), 1, 40000, 1).bytes();
    badInnerTcp[50 + 34 + 17]! ^= 0xff; // inner TCP checksum, low byte
    const badOuterIp = vxlan(echoFrame(), 1, 40000, 1).bytes();
    writeU16(badOuterIp, 24, 0x1234);
    const rows = tsharkFields([badInnerTcp, badOuterIp], FIELDS);
    expect(rows[0]).toMatchObject({ 'ip.checksum.status': '1,1', 'tcp.checksum.status': '0' });
    expect(rows[1]!['ip.checksum.status']).toBe('0,1');
    const d = new Dissection();
    expect(dissect(badInnerTcp, 0, badInnerTcp.length, d, { verifyChecksums: true }).fault).toMatchObject({
      layer: 'tcp',
      code: 'bad-checksum',
      offset: 100,
    });
    expect(dissect(badOuterIp, 0, badOuterIp.length, d, { verifyChecksums: true }).fault).toMatchObject({
      layer: 'ipv4',
      code: 'bad-checksum',
      offset: 24,
    });
  });
});
