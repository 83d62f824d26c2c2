/**
 * Declare every port of an Emulation as a capture point and connect it to a CaptureSink: pod eth0s, node
 * veths, tun0, vxlan0 and NICs, the gateway's legs and the external hosts' NICs.
 */

import { ipv4ToString } from '../../codecs/bytes.js';
import type { Emulation } from '../node/emulation.js';
import type { NetInterface } from '../ports/net-interface.js';
import type { CaptureSink } from './capture-sink.js';
import { configChanged } from '../fastpath/generation.js';

/** Node names without the cluster's common prefix (`aro2-p8bjm-worker-northeurope1-qt8l7` -> `worker-northeurope1-qt8l7`). */
export function shortNames(names: string[]): Map<string, string> {
  let prefix = names[0] ?? '';
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = prefix.lastIndexOf('-') + 1;
  const out = new Map<string, string>();
  for (const n of names) out.set(n, names.length > 1 && cut > 0 ? n.slice(cut) : n);
  return out;
}

function addrText(i: NetInterface): string {
  return i.addresses.map((a) => `${ipv4ToString(a.ip)}/${a.prefix}`).join(', ');
}

export function attachCapture(emu: Emulation, sink: CaptureSink): void {
  emu.runtime.capture = sink;
  const short = shortNames([...emu.nodes.keys()]);
  for (const node of emu.nodes.values()) {
    const host = node.name;
    const s = short.get(host)!;
    node.nic.tap = sink.register({ name: `${s}/eth0`, description: `node ${host} eth0 ${addrText(node.nic)} (underlay NIC)`, host, role: 'nic' });
    node.tun0.tap = sink.register({ name: `${s}/tun0`, description: `node ${host} tun0 ${addrText(node.tun0)} (OVS internal port 2)`, host, role: 'tun0' });
    node.vxlan0.tap = sink.register({ name: `${s}/vxlan0`, description: `node ${host} vxlan0 (OVS port 1, inner frames)`, host, role: 'vxlan0' });
    for (const [key, p] of node.pods) {
      p.veth.tap = sink.register({ name: `${s}/${p.veth.name}`, description: `node ${host} ${p.veth.name} (OVS port ${p.veth.ofport}, host end of ${key} eth0)`, host, role: 'veth' });
      p.eth0.tap = sink.register({ name: `${p.pod.name}/eth0`, description: `pod ${key} eth0 ${addrText(p.eth0)} on ${host}`, host, role: 'pod-eth0' });
      for (const i of p.stack.interfaces) {
        if (i === p.eth0) continue;
        i.tap = sink.register({ name: `${p.pod.name}/${i.name}`, description: `pod ${key} ${i.name} ${addrText(i)} on ${host}`, host, role: i.name.startsWith('macvlan') ? 'macvlan' : 'pod-if' });
      }
    }
  }
  for (const i of emu.gateway.interfaces) {
    i.tap = sink.register({ name: `gateway/${i.name}`, description: `underlay gateway ${i.name} ${addrText(i)}`, host: emu.gateway.name, role: 'gateway' });
  }
  for (const [name, s] of emu.externals) {
    for (const i of s.interfaces) i.tap = sink.register({ name: `${name}/${i.name}`, description: `external host ${name} ${i.name} ${addrText(i)}`, host: name, role: 'external' });
  }
  configChanged(); // taps are set: cached walks recorded without them are void
}
