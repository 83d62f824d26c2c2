/**
 * Cross-checks against a real Open vSwitch 3.1 running in userspace (skipped when OVS is not installed):
 * our add-flows export loads into OVS and dumps back exactly as we print it, and ofproto/trace agrees with
 * Bridge.process on output ports, drops, tun_id and tun_dst.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipv4, toHex } from '../../codecs/bytes.js';
import { CT_NEW, CT_TRK, type PacketBuffer } from '../../src/buffer/packet-buffer.js';
import { Bridge } from '../../src/ovs/bridge.js';
import { arpFrame, ipFrame, packet } from './packets.js';
import { hasOvs, PrivateOvs } from './private-ovs.js';

const HAVE = hasOvs();
if (!HAVE) console.log('test/ovs/ovs-real: ovs-vswitchd not installed; skipping the real-OVS comparisons');

const FIX = new URL('./fixtures/', import.meta.url);
const FLOWS = readFileSync(new URL('openshift-sdn-flows.txt', FIX), 'utf8');
const GROUPS = readFileSync(new URL('openshift-sdn-groups.txt', FIX), 'utf8');
const EXAMPLE = readFileSync('/work/shared/tools/ovsref/example-flows.txt', 'utf8');

interface Result {
  ports: number[];
  tunId: number;
  tunDst: number;
}

/** Our bridge, with a conntrack that answers +trk+new like ofproto/trace's default --ct-next. */
function ours(flows: string, groups = ''): { run: (p: PacketBuffer) => Result; bridge: Bridge } {
  let last: Result = { ports: [], tunId: 0, tunDst: 0 };
  const bridge = new Bridge('br0', {
    output(port, p) {
      last.ports.push(port);
      last.tunId = p.tunId;
      last.tunDst = p.tunDst;
    },
    conntrack(p) {
      p.ctState = CT_TRK | CT_NEW;
    },
    portName: (n) => `port${n}`,
  });
  if (groups) bridge.addGroups(groups);
  bridge.addFlows(flows);
  return {
    bridge,
    run(p) {
      last = { ports: [], tunId: p.tunId, tunDst: p.tunDst };
      bridge.process(p);
      return last;
    },
  };
}

/** Outputs, tun_id and tun_dst from an ofproto/trace text (all recirculation passes). */
function fromTrace(text: string): Result {
  const lines = text.split('\n');
  const ports: number[] = [];
  lines.forEach((l, i) => {
    const next = lines[i + 1] ?? '';
    if (next.includes('skipping output to input port')) return;
    const m = /^\s+output:(\d+)$/.exec(l);
    if (m) ports.push(+m[1]!);
    const r = /^\s+-> output port is (\d+)$/.exec(l);
    if (r) ports.push(+r[1]!);
  });
  // OVS's Final flow line leaves tun_id out, so take it from the last "-> NXM_NX_TUN_ID[..] is now X".
  const tunIds = lines
    .map((l) => /-> NXM_NX_TUN_ID\[[\d.]*\] is now (0x[0-9a-f]+|\d+)/.exec(l))
    .filter((m) => m !== null);
  const finals = lines.filter((l) => l.startsWith('Final flow:'));
  const fin = finals[finals.length - 1] ?? '';
  const tunDst = /[,:]tun_dst=([\d.]+)/.exec(fin);
  return {
    ports,
    tunId: tunIds.length ? Number(tunIds[tunIds.length - 1]![1]) : 0,
    tunDst: tunDst ? ipv4(tunDst[1]!) : 0,
  };
}

const sortLines = (s: string): string[] =>
  s
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('OFPST'))
    .sort();

describe.skipIf(!HAVE)('against a real Open vSwitch (userspace, dummy datapath)', () => {
  let ovs: PrivateOvs;
  beforeAll(() => {
    ovs = new PrivateOvs();
    ovs.start([1, 2, 3, 4, 5, 6]);
  }, 20_000);
  afterAll(() => ovs?.stop());

  for (const [name, flows, groups] of [
    ['OpenShift SDN flows', FLOWS, GROUPS],
    ['ovsref example flows', EXAMPLE, ''],
  ] as const) {
    it(`${name}: our export loads into OVS and dumps back exactly as we print it`, () => {
      const { bridge } = ours(flows, groups);
      const exp = bridge.exportOfctl();
      ovs.ofctl('del-flows');
      ovs.ofctl('del-groups');
      if (exp.groups) ovs.load('add-groups', exp.groups);
      ovs.load('add-flows', exp.flows);
      expect(sortLines(ovs.ofctl('dump-flows', '--no-stats'))).toEqual(
        sortLines(bridge.dumpFlows({ counters: false })),
      );
      // The stats form too, once duration and counters are masked.
      const mask = (l: string) =>
        l.replace(/duration=[\d.]+s/, 'duration=Xs').replace(/n_packets=\d+, n_bytes=\d+/, 'n_packets=N, n_bytes=N');
      expect(sortLines(ovs.ofctl('dump-flows').split('\n').map(mask).join('\n'))).toEqual(
        sortLines(bridge.dumpFlows().split('\n').map(mask).join('\n')),
      );
      if (groups) expect(sortLines(ovs.ofctl('dump-groups'))).toEqual(sortLines(bridge.dumpGroups()));
    });
  }

  // Packets for the OpenShift flow set: node subnet 10.128.0.0/23, pod 10.128.0.2 on port 3 (VNID 42).
  const POD = { srcMac: '0a:58:0a:80:00:02', dstMac: '0a:58:0a:80:00:01' };
  const cases: [string, string, Buffer][] = [
    ['pod -> remote pod: VXLAN with tun_id=42', 'in_port=3', ipFrame({ ...POD, src: '10.128.0.2', dst: '10.128.2.5' })],
    ['pod -> gateway: tun0', 'in_port=3', ipFrame({ ...POD, src: '10.128.0.2', dst: '10.128.0.1' })],
    [
      'pod -> service: tun0',
      'in_port=3',
      ipFrame({ ...POD, src: '10.128.0.2', dst: '172.30.0.10', proto: 'tcp', dport: 443 }),
    ],
    ['pod -> external: egress policy drop', 'in_port=3', ipFrame({ ...POD, src: '10.128.0.2', dst: '8.8.8.8' })],
    ['pod -> 192.168/16: egress policy allow', 'in_port=3', ipFrame({ ...POD, src: '10.128.0.2', dst: '192.168.7.7' })],
    ['spoofed source: table 20 drop', 'in_port=3', ipFrame({ ...POD, src: '10.128.0.9', dst: '10.128.2.5' })],
    [
      'pod sends VXLAN: table 20 drop',
      'in_port=3',
      ipFrame({ ...POD, src: '10.128.0.2', dst: '10.128.2.5', dport: 4789 }),
    ],
    ['pod ARP for the gateway', 'in_port=3', arpFrame(1, '0a:58:0a:80:00:02', '10.128.0.2', '10.128.0.1')],
    ['pod ARP for a remote pod: VXLAN', 'in_port=3', arpFrame(1, '0a:58:0a:80:00:02', '10.128.0.2', '10.128.2.9')],
    [
      'VXLAN in from a known node -> local pod',
      'in_port=1,tun_id=0x2a,tun_src=10.0.123.45,tun_dst=172.17.0.4',
      ipFrame({ src: '10.128.2.5', dst: '10.128.0.2', proto: 'tcp', dport: 80 }),
    ],
    [
      'VXLAN in from an unknown node: table 10 drop',
      'in_port=1,tun_id=0x2a,tun_src=10.0.123.99,tun_dst=172.17.0.4',
      ipFrame({ src: '10.128.2.5', dst: '10.128.0.2' }),
    ],
    [
      'VXLAN in for a remote subnet: output to in_port skipped',
      'in_port=1,tun_id=0x2a,tun_src=10.0.123.45,tun_dst=172.17.0.4',
      ipFrame({ src: '10.128.2.5', dst: '10.128.2.6' }),
    ],
    ['tun0 -> pod (host network)', 'in_port=2', ipFrame({ src: '10.128.0.1', dst: '10.128.0.2' })],
    ['multicast from tun0 dropped', 'in_port=2', ipFrame({ src: '10.128.0.5', dst: '224.1.2.3' })],
  ];

  it.each(cases)('ofproto/trace agrees: %s', (_title, flowSpec, frame) => {
    ovs.ofctl('del-flows');
    ovs.ofctl('del-groups');
    ovs.load('add-groups', GROUPS);
    ovs.load('add-flows', FLOWS);
    const real = fromTrace(ovs.appctl('ofproto/trace', 'br0', flowSpec, toHex(frame)));
    const { run } = ours(FLOWS, GROUPS);
    const p = packet(frame, +/in_port=(\d+)/.exec(flowSpec)![1]!);
    const tid = /tun_id=(0x[0-9a-f]+)/.exec(flowSpec);
    const tsrc = /tun_src=([\d.]+)/.exec(flowSpec);
    if (tid) p.tunId = Number(tid[1]);
    const tdst = /tun_dst=([\d.]+)/.exec(flowSpec);
    if (tsrc) p.tunSrc = ipv4(tsrc[1]!);
    if (tdst) p.tunDst = ipv4(tdst[1]!);
    const mine = run(p);
    expect(mine.ports).toEqual(real.ports);
    if (real.ports.includes(1)) {
      // Tunnel output: the VNI and remote node the flows chose.
      expect(mine.tunId).toBe(real.tunId);
      expect(mine.tunDst).toBe(real.tunDst);
    }
  });
});
