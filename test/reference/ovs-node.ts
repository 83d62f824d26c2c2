/**
 * One emulated node's br0, rebuilt in a private userspace Open vSwitch 3.1 (test/ovs/private-ovs.ts: its own
 * ovsdb socket, --enable-dummy, datapath_type=dummy, no kernel module), the way OpenShift SDN builds it:
 * fail_mode=secure, OpenFlow13, vxlan0 = ofport 1 (type=vxlan remote_ip=flow key=flow dst_port=4789), tun0 = 2,
 * pods 3..N at packetwalk's ofports. The node's exported groups and flows are loaded (groups first).
 *
 * Native VXLAN tunnelling needs an underlay: a second dummy bridge `ul` that owns the node IP with the node
 * NIC's MAC, a route to the underlay subnet through it, and a static tunnel neighbour (the peer node's NIC MAC) for every other
 * node; its uplink writes what it transmits to a pcap, so injected packets come out fully encapsulated (the
 * recipe of OVS's tunnel-push-pop tests and of shared/tools/ovsref).
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ipv4ToString, macToString, toHex } from '../../codecs/bytes.js';
import type { EmulatedNode } from '../../src/node/emulated-node.js';
import { PrivateOvs } from '../ovs/private-ovs.js';

/** Every private OVS started by this process, stopped on exit even when a test throws. */
const live = new Set<PrivateOvs>();
process.on('exit', () => {
  for (const o of live) {
    try {
      o.stop();
    } catch {
      /* best effort on the way out */
    }
  }
});

export class OvsNode {
  readonly ovs = new PrivateOvs();
  /** Datapath port number -> br0 ofport (the trace's `Datapath actions` speak datapath ports). */
  readonly dpToOfport = new Map<number, number>();
  private readonly uplinkPcap: string;

  constructor(
    readonly node: EmulatedNode,
    peers: readonly EmulatedNode[],
  ) {
    live.add(this.ovs);
    this.uplinkPcap = join(this.ovs.dir, 'uplink-tx.pcap');
    try {
      this.build(peers);
    } catch (e) {
      this.stop(); // a half-built instance must not outlive the failure
      throw e;
    }
  }

  private build(peers: readonly EmulatedNode[]): void {
    const { ovs: o, node } = this;
    const ports = node.ovsPorts().map((p) => p.ofport);
    o.start(ports);
    // Pod ports also write what they transmit, so injected packets can be seen leaving br0.
    const podPcaps: string[] = [];
    for (const p of ports)
      if (p > 1) podPcaps.push('--', 'set', 'Interface', `port${p}`, `options:tx_pcap=${this.portPcap(p)}`);
    o.vsctl([
      ...podPcaps,
      '--',
      'add-br',
      'ul',
      '--',
      'set',
      'Bridge',
      'ul',
      'datapath_type=dummy',
      'fail_mode=secure',
      `other-config:hwaddr=${macToString(node.nic.mac)}`,
      '--',
      'add-port',
      'ul',
      'uplink',
      '--',
      'set',
      'Interface',
      'uplink',
      'type=dummy',
      'ofport_request=1',
      `options:tx_pcap=${this.uplinkPcap}`,
    ]);
    waitFor(() => existsSync(join(o.dir, 'ul.mgmt')), 'ul bridge');
    o.appctl(
      'netdev-dummy/ip4addr',
      'ul',
      `${ipv4ToString(node.hostSubnet.hostIP)}/${node.cluster.underlay.cidr.prefix}`,
    );
    const u = node.cluster.underlay.cidr;
    o.appctl('ovs/route/add', `${ipv4ToString(u.network)}/${u.prefix}`, 'ul');
    execFileSync('ovs-ofctl', ['--timeout=10', 'add-flows', `unix:${o.dir}/ul.mgmt`, '-'], {
      input: 'in_port=LOCAL actions=output:1\nin_port=1 actions=LOCAL\n',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    for (const p of peers)
      if (p !== node) o.appctl('tnl/neigh/set', 'ul', ipv4ToString(p.hostSubnet.hostIP), macToString(p.nic.mac));

    const { flows, groups } = node.bridge.exportOfctl();
    if (groups) {
      // A select group normally picks its bucket with dp_hash, a datapath hash and a recirculation that
      // ofproto/trace cannot follow ("no live bucket"). Selecting by a hash of fields computed during translation
      // needs the OpenFlow 1.5 group property, so OpenFlow15 is enabled beside 1.3 for loading groups only.
      o.vsctl(['set', 'Bridge', 'br0', 'protocols=OpenFlow13,OpenFlow15']);
      const f = join(o.dir, 'groups.txt');
      writeFileSync(
        f,
        groups.replace(/^(group_id=\d+,type=select),/gm, '$1,selection_method=hash,fields(ip_src,ip_dst),'),
      );
      execFileSync('ovs-ofctl', ['-O', 'OpenFlow15', '--timeout=10', 'add-groups', `unix:${o.dir}/br0.mgmt`, f], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    }
    o.load('add-flows', flows);

    for (const line of o.appctl('dpif/show').split('\n')) {
      const m = /^\s+port(\d+) (\d+)\/(\d+):/.exec(line);
      if (m) this.dpToOfport.set(+m[3]!, +m[2]!);
    }
  }

  portPcap(ofport: number): string {
    return join(this.ovs.dir, `port${ofport}-tx.pcap`);
  }

  /** `ovs-appctl ofproto/trace br0 FLOW [--ct-next F]... HEX` (OVS runs ct actions for real; outputs are not). */
  trace(flow: string, ctNext: readonly string[], packet: Uint8Array): string {
    const args = ['ofproto/trace', 'br0', flow];
    for (const c of ctNext) args.push('--ct-next', c);
    args.push(toHex(packet));
    return this.ovs.appctl(...args);
  }

  /**
   * Feed a real packet into br0 port `ofport`, or the underlay uplink (netdev-dummy/receive), and return what the given ports transmitted
   * because of it (waits until a capture grows, at most 2 s, then briefly for more).
   */
  inject(
    ofport: number | 'uplink',
    packet: Uint8Array,
    watch: readonly ('uplink' | number)[],
  ): Map<'uplink' | number, Uint8Array[]> {
    const files = new Map(watch.map((w) => [w, w === 'uplink' ? this.uplinkPcap : this.portPcap(w)] as const));
    const before = new Map([...files].map(([w, f]) => [w, pcapPackets(f).length] as const));
    const size = (): number => [...files.values()].reduce((a, f) => a + (existsSync(f) ? statSync(f).size : 0), 0);
    const s0 = size();
    this.ovs.appctl('netdev-dummy/receive', ofport === 'uplink' ? 'uplink' : `port${ofport}`, toHex(packet));
    const deadline = Date.now() + 2000;
    while (size() === s0 && Date.now() < deadline) sleepMs(2);
    sleepMs(10);
    const out = new Map<'uplink' | number, Uint8Array[]>();
    for (const [w, f] of files) out.set(w, pcapPackets(f).slice(before.get(w)!));
    return out;
  }

  stop(): void {
    live.delete(this.ovs);
    this.ovs.stop();
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitFor(cond: () => boolean, what: string): void {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`private OVS: ${what} did not come up`);
    sleepMs(10);
  }
}

/**
 * Packets of a classic pcap as netdev-dummy writes them (read here, not with codecs/pcap.ts, so the oracle
 * does not lean on the code under test). A record cut short by a concurrent write is left out.
 */
export function pcapPackets(file: string): Uint8Array[] {
  if (!existsSync(file)) return [];
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const out: Uint8Array[] = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const incl = u32(o + 8);
    if (o + 16 + incl > b.length) break;
    out.push(new Uint8Array(b.subarray(o + 16, o + 16 + incl)));
    o += 16 + incl;
  }
  return out;
}
