/**
 * Oversized packets are never dropped silently: the hop that cannot carry a DF packet answers with ICMP
 * fragmentation-needed (RFC 1191) carrying its next-hop MTU and the offending header, and the sender learns it.
 */

import { expect, it } from 'vitest';
import { ipv4, readU16 } from '../../codecs/bytes.js';
import { Dissection, dissect } from '../../codecs/dissect.js';
import { emitEthernet, ETHERTYPE_IPV4 } from '../../codecs/ethernet.js';
import { emitIpv4, IPPROTO_UDP } from '../../codecs/ipv4.js';
import { emitUdp } from '../../codecs/udp.js';
import { attachCapture, builtinCluster, CaptureRecorder, Emulation } from '../../src/index.js';

it('a 1500-byte DF datagram routed toward tun0 (MTU 1450) gets ICMP fragmentation-needed with MTU 1450', () => {
  const emu = new Emulation(builtinCluster(), { seed: 3 });
  const rec = new CaptureRecorder(emu.runtime.clock, { index: true, keepBytes: true });
  attachCapture(emu, rec);
  emu.runtime.tracing = true;
  const worker1 = emu.node('aro2-p8bjm-worker-northeurope1-qt8l7');
  // The gateway knows worker1; teach it nothing else: the ICMP error must find its own way back.
  const src = ipv4('203.0.113.10'),
    dst = ipv4('10.131.0.40');
  const pkt = emu.runtime.newPacket('test', 'oversized UDP');
  const total = 1500,
    payload = total - 28;
  const o = pkt.setFrame(14 + total);
  emitUdp({ srcPort: 5000, dstPort: 8080 }, pkt.data, o + 34, payload, src, dst);
  emitIpv4(
    { protocol: IPPROTO_UDP, src, dst, ttl: 60, dontFragment: true, identification: 7 },
    pkt.data,
    o + 14,
    8 + payload,
  );
  emitEthernet({ src: emu.cluster.underlay.gatewayMac, dst: worker1.nic.mac, ethertype: ETHERTYPE_IPV4 }, pkt.data, o);
  worker1.nic.receiveFrame(pkt);
  emu.settle();
  rec.close();

  expect(emu.runtime.packets[0]!.outcome?.reason).toMatch(/1500-byte packet with DF exceeds tun0 MTU 1450/);
  const d = new Dissection();
  const icmp = rec.frames.find((f) => {
    if (f.point !== worker1.nic.tap || f.direction !== 'outbound' || !f.bytes) return false;
    dissect(f.bytes, 0, f.bytes.length, d);
    return d.l4Kind === 'icmp' && f.bytes[d.l4] === 3 && f.bytes[d.l4 + 1] === 4;
  });
  expect(icmp, 'ICMP fragmentation-needed leaves worker1 toward the sender').toBeDefined();
  const b = icmp!.bytes!;
  dissect(b, 0, b.length, d);
  expect(readU16(b, d.l4 + 6)).toBe(1450); // next-hop MTU
  expect(d.icmpQuote).toBeGreaterThan(0); // quotes the offending IPv4 header
  expect(readU16(b, d.icmpQuote + 2)).toBe(1500);
});
