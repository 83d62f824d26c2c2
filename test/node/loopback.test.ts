/**
 * Local delivery as Linux does it: a host talking to its own address, to 127.0.0.0/8 or to 0.0.0.0 goes through
 * `lo` (the local routing table) and never reaches a wire or ARP; a loopback address arriving from a wire is a
 * martian and dropped; multicast is sent to its 01:00:5e MAC without ARP.
 */

import { describe, expect, it } from 'vitest';
import { ipv4, mac } from '../../codecs/bytes.js';
import { emitEthernet, ETHERTYPE_IPV4 } from '../../codecs/ethernet.js';
import { emitIpv4, IPPROTO_UDP } from '../../codecs/ipv4.js';
import { readPcapng } from '../../codecs/pcapng.js';
import { emitUdp } from '../../codecs/udp.js';
import { attachCapture, builtinCluster, CaptureRecorder, Emulation, runFlow } from '../../src/index.js';
import { renderWalkTrace } from '../../src/trace/render.js';
import type { FlowSpec } from '../../src/walk/flow.js';

const SQLAPI = { kind: 'pod', namespace: 'project1', name: 'sqlapi-1-8jgx8' } as const;
const WORKER1 = 'aro2-p8bjm-worker-northeurope1-qt8l7';

function walk(spec: FlowSpec) {
  const emu = new Emulation(builtinCluster(), { seed: 1 });
  const capture = new CaptureRecorder(emu.runtime.clock);
  attachCapture(emu, capture);
  emu.runtime.tracing = true;
  const flow = runFlow(emu, spec);
  capture.close();
  const frames = readPcapng(capture.memoryPcapng()).packets;
  const text = renderWalkTrace('walk', emu.runtime.packets);
  return { emu, flow, frames, text };
}

describe('local delivery through lo', () => {
  it.each([
    ['its own IP', '10.131.0.40', '10.131.0.40'],
    ['127.0.0.1', '127.0.0.1', '127.0.0.1'],
    ['another 127/8 address', '127.1.2.3', '127.0.0.1'],
    ['0.0.0.0 (connect() reaches 127.0.0.1)', '0.0.0.0', '127.0.0.1'],
  ])('a pod reaches its own listener at %s without a frame on any wire', (_, dst, src) => {
    const { flow, frames, text, emu } = walk({ from: SQLAPI, to: { ip: ipv4(dst), port: 8080 }, proto: 'tcp' });
    expect(flow.ok, flow.detail).toBe(true);
    expect(frames).toHaveLength(0);
    expect(text).toMatch(/dev lo table local/);
    expect(text).not.toMatch(/ARP/);
    const syn = emu.runtime.packets[0]!;
    expect(syn.label).toMatch(
      new RegExp(
        `^TCP SYN ${src.replaceAll('.', '\\.')}:\\d+ > ${(dst === '0.0.0.0' ? '127.0.0.1' : dst).replaceAll('.', '\\.')}:8080`,
      ),
    );
  });

  it('a pod pings itself over lo', () => {
    const { flow, frames } = walk({ from: SQLAPI, to: { ip: ipv4('10.131.0.40'), port: 0 }, proto: 'icmp' });
    expect(flow.ok, flow.detail).toBe(true);
    expect(frames).toHaveLength(0);
  });

  it('a node talking to its own address stays on the node and runs its iptables with -o lo / -i lo (no listener on 80: RST)', () => {
    const { flow, frames, text } = walk({
      from: { kind: 'node', name: WORKER1 },
      to: { ip: ipv4('192.168.0.4'), port: 80 },
      proto: 'tcp',
    });
    expect(flow.detail).toBe('TCP connection reset');
    expect(frames).toHaveLength(0);
    expect(text).toMatch(/nat: -A OUTPUT .*KUBE-SERVICES/);
    expect(text).toMatch(/route 192\.168\.0\.4: local 192\.168\.0\.4 dev lo/);
    expect(text).toMatch(/filter: -A INPUT /);
  });
});

describe('martians and multicast', () => {
  it('drops a frame to 127.0.0.1 arriving on a node NIC (martian destination)', () => {
    const emu = new Emulation(builtinCluster(), { seed: 1 });
    const node = emu.node(WORKER1);
    for (const [src, dst, reason] of [
      ['192.168.0.5', '127.0.0.1', 'eth0: martian destination 127.0.0.1 (loopback address from a device)'],
      ['127.0.0.1', '192.168.0.4', 'eth0: martian source 127.0.0.1 (loopback address from a device)'],
    ] as const) {
      const pkt = emu.runtime.pool.acquire();
      const start = pkt.setFrame(14 + 20 + 8 + 4);
      emitUdp({ srcPort: 4000, dstPort: 53 }, pkt.data, start + 34, 4, ipv4(src), ipv4(dst));
      emitIpv4({ protocol: IPPROTO_UDP, src: ipv4(src), dst: ipv4(dst), ttl: 64 }, pkt.data, start + 14, 12);
      emitEthernet({ src: mac('00:0d:3a:00:00:05'), dst: node.nic.mac, ethertype: ETHERTYPE_IPV4 }, pkt.data, start);
      node.kernel.receiveOn(node.nic, pkt);
      emu.settle();
      expect(emu.runtime.drops.get(`${WORKER1}: ${reason}`)).toBe(1);
    }
  });

  it('sends multicast to its 01:00:5e MAC without ARP', () => {
    const { frames, text } = walk({ from: SQLAPI, to: { ip: ipv4('224.0.0.251'), port: 5353 }, proto: 'udp' });
    expect(text).not.toMatch(/ARP/);
    expect(frames.length).toBeGreaterThan(0);
    const first = Buffer.from(frames[0]!.data);
    expect(first.subarray(0, 6).toString('hex')).toBe('01005e0000fb');
  });
});
