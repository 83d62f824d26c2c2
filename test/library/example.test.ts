/**
 * The README's library example, run as a test so it stays true: build a cluster, bring it up, capture in
 * memory, inject one hand-made frame at a pod's eth0 and read what every capture point saw.
 */

import { expect, it } from 'vitest';
import { ipv4, mac } from '../../codecs/bytes.js';
import { emitEthernet, ETHERTYPE_IPV4 } from '../../codecs/ethernet.js';
import { emitIpv4, IPPROTO_UDP } from '../../codecs/ipv4.js';
import { readPcapng } from '../../codecs/pcapng.js';
import { summarize } from '../../codecs/summary.js';
import { emitUdp } from '../../codecs/udp.js';
import { attachCapture, builtinCluster, CaptureRecorder, Emulation, runFlow } from '../../src/index.js';

it('injects a frame and reads the captures (README example)', () => {
  const cluster = builtinCluster();
  const emu = new Emulation(cluster, { seed: 42 });
  const capture = new CaptureRecorder(emu.runtime.clock); // in memory; { dir } writes files instead
  attachCapture(emu, capture);

  // A conversation: ARP, TCP handshake, request, response, close — all real bytes.
  const flow = runFlow(emu, {
    from: { kind: 'pod', namespace: 'project1', name: 'sqlapi-1-8jgx8' },
    to: { ip: ipv4('172.30.72.7'), port: 1433 }, // the `server` service
    proto: 'tcp',
  });
  expect(flow.ok).toBe(true);

  // Or one frame built by hand, injected at sqlapi's eth0 (ARP caches are warm now).
  const sqlapi = emu.node('aro2-p8bjm-worker-northeurope1-qt8l7').pods.get('project1/sqlapi-1-8jgx8')!;
  const pkt = emu.runtime.pool.acquire();
  const payload = new TextEncoder().encode('hello');
  const start = pkt.setFrame(14 + 20 + 8 + payload.length);
  const b = pkt.data;
  b.set(payload, start + 42);
  emitUdp({ srcPort: 40000, dstPort: 1433 }, b, start + 34, payload.length, ipv4('10.131.0.40'), ipv4('10.128.2.24'));
  emitIpv4(
    { protocol: IPPROTO_UDP, src: ipv4('10.131.0.40'), dst: ipv4('10.128.2.24'), ttl: 64 },
    b,
    start + 14,
    8 + payload.length,
  );
  emitEthernet({ src: mac('0a:58:0a:83:00:28'), dst: mac('0a:58:0a:80:02:18'), ethertype: ETHERTYPE_IPV4 }, b, start);
  sqlapi.eth0.transmit(pkt);
  emu.settle();
  capture.close();

  const { interfaces, packets } = readPcapng(capture.memoryPcapng());
  const seen = packets.filter((p) => summarize(p.data).includes('10.131.0.40.40000 > 10.128.2.24.1433'));
  expect(seen.map((p) => interfaces[p.interfaceId]!.name)).toEqual([
    'sqlapi-1-8jgx8/eth0',
    expect.stringMatching(/^worker-northeurope1-qt8l7\/veth/),
    'worker-northeurope1-qt8l7/vxlan0',
    'worker-northeurope1-qt8l7/eth0', // VXLAN 192.168.0.4 > 192.168.0.5
    'worker-northeurope3-wl4vw/eth0',
    'worker-northeurope3-wl4vw/vxlan0',
    expect.stringMatching(/^worker-northeurope3-wl4vw\/veth/),
    'server-1-ppl25/eth0',
  ]);
  // server-1-ppl25 has no UDP socket on 1433: it answers with ICMP port unreachable, which walks back.
  expect(packets.some((p) => summarize(p.data).includes('udp port 1433 unreachable'))).toBe(true);
});
