/**
 * Declare every port of an Emulation as a capture point and connect it to a CaptureSink: pod eth0s, node
 * veths, tun0, vxlan0 and NICs, the gateway's legs and the external hosts' NICs. The OVS and pod ports of a node
 * whose data path is not built yet are declared when it is built.
 */

import { ipv4ToString } from '../../codecs/bytes.js';
import type { Pod } from '../cluster/types.js';
import type { EmulatedNode } from '../node/emulated-node.js';
import type { Emulation } from '../node/emulation.js';
import type { NetInterface } from '../ports/net-interface.js';
import type { CapturePointInfo, CaptureSink } from '../runtime/capture-sink.js';

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

/**
 * Capture point order: node i's points are at i * NODE_STRIDE + slot (NIC 0, tun0 1, vxlan0 2, then per pod j in
 * ofport order 3 + 8j: veth, eth0, further interfaces), then the gateway's and the external hosts'. Points are
 * registered as nodes get built (a node's pods exist only then), so ids come in build order; this order is the
 * one of a whole cluster built up front, and files list points in it (CaptureRecorder.pointIdsInOrder).
 */
const NODE_STRIDE = 2 ** 24;
const SLOT_NIC = 0,
  SLOT_TUN0 = 1,
  SLOT_VXLAN0 = 2,
  SLOT_PODS = 3,
  SLOTS_PER_POD = 8;

function podSlot(j: number, k: number): number {
  return SLOT_PODS + j * SLOTS_PER_POD + k;
}

/**
 * Names two capture points would share (two namespaces with a pod of the same name; a pod named like a node),
 * with the order of every point holding each: the first keeps the name and the n-th gets `#n`, as when every
 * point is registered in order, whichever node is built first.
 */
function sharedNames(emu: Emulation, short: Map<string, string>): Map<string, number[]> {
  const gatewayOrder = emu.nodes.size * NODE_STRIDE;
  // First a count of the part before the `/`: a name can only be shared where that part is.
  const firsts = new Map<string, number>();
  const count = (a: string): void => {
    firsts.set(a, (firsts.get(a) ?? 0) + 1);
  };
  const podPoints = (visit: (node: number, j: number, pod: Pod) => void): void => {
    let i = 0;
    for (const name of emu.nodes.keys()) {
      let j = 0;
      for (const pod of emu.index.podsByNode.get(name) ?? []) if (!pod.hostNetwork) visit(i, j++, pod);
      i++;
    }
  };
  for (const s of short.values()) count(s);
  podPoints((_i, _j, pod) => count(pod.name));
  count('gateway');
  for (const name of emu.externals.keys()) count(name);
  const all = new Map<string, number[]>();
  const add = (first: string, rest: string, order: number): void => {
    if ((firsts.get(first) ?? 0) < 2) return;
    const name = `${first}/${rest}`;
    const l = all.get(name);
    if (l) l.push(order);
    else all.set(name, [order]);
  };
  let i = 0;
  for (const s of short.values()) {
    add(s, 'eth0', i * NODE_STRIDE + SLOT_NIC);
    add(s, 'tun0', i * NODE_STRIDE + SLOT_TUN0);
    add(s, 'vxlan0', i * NODE_STRIDE + SLOT_VXLAN0);
    i++;
  }
  podPoints((n, j, pod) => {
    add(pod.name, 'eth0', n * NODE_STRIDE + podSlot(j, 1));
    if (pod.egressRouter) add(pod.name, 'macvlan0', n * NODE_STRIDE + podSlot(j, 2));
  });
  for (const [k, iface] of emu.gateway.interfaces.entries()) add('gateway', iface.name, gatewayOrder + k);
  let k = emu.gateway.interfaces.length;
  for (const [name, s] of emu.externals) for (const iface of s.interfaces) add(name, iface.name, gatewayOrder + k++);
  for (const [name, orders] of all) {
    if (orders.length < 2) all.delete(name);
    else orders.sort((a, b) => a - b);
  }
  return all;
}

export function attachCapture(emu: Emulation, sink: CaptureSink): void {
  emu.runtime.capture = sink;
  const short = shortNames([...emu.nodes.keys()]);
  const shared = sharedNames(emu, short);
  const register = (info: CapturePointInfo, order: number): number => {
    const orders = shared.get(info.name);
    const n = orders ? orders.indexOf(order) : 0;
    return sink.register(n > 0 ? { ...info, name: `${info.name}#${n + 1}` } : info, order);
  };
  const nodeIndex = new Map<string, number>();
  const dataPathPoints = (node: EmulatedNode): void => {
    const host = node.name;
    const s = short.get(host)!;
    const base = nodeIndex.get(host)! * NODE_STRIDE;
    node.vxlan0.tap = register(
      { name: `${s}/vxlan0`, description: `node ${host} vxlan0 (OVS port 1, inner frames)`, host, role: 'vxlan0' },
      base + SLOT_VXLAN0,
    );
    let j = 0;
    for (const [key, p] of node.pods) {
      p.veth.tap = register(
        {
          name: `${s}/${p.veth.name}`,
          description: `node ${host} ${p.veth.name} (OVS port ${p.veth.ofport}, host end of ${key} eth0)`,
          host,
          role: 'veth',
        },
        base + podSlot(j, 0),
      );
      p.eth0.tap = register(
        {
          name: `${p.pod.name}/eth0`,
          description: `pod ${key} eth0 ${addrText(p.eth0)} on ${host}`,
          host,
          role: 'pod-eth0',
        },
        base + podSlot(j, 1),
      );
      let k = 2;
      for (const i of p.stack.interfaces) {
        if (i === p.eth0) continue;
        i.tap = register(
          {
            name: `${p.pod.name}/${i.name}`,
            description: `pod ${key} ${i.name} ${addrText(i)} on ${host}`,
            host,
            role: i.name.startsWith('macvlan') ? 'macvlan' : 'pod-if',
          },
          base + podSlot(j, k++),
        );
      }
      j++;
    }
  };
  for (const node of emu.nodes.values()) {
    const host = node.name;
    const s = short.get(host)!;
    const base = nodeIndex.size * NODE_STRIDE;
    nodeIndex.set(host, nodeIndex.size);
    node.nic.tap = register(
      { name: `${s}/eth0`, description: `node ${host} eth0 ${addrText(node.nic)} (underlay NIC)`, host, role: 'nic' },
      base + SLOT_NIC,
    );
    node.tun0.tap = register(
      {
        name: `${s}/tun0`,
        description: `node ${host} tun0 ${addrText(node.tun0)} (OVS internal port 2)`,
        host,
        role: 'tun0',
      },
      base + SLOT_TUN0,
    );
    if (node.built) dataPathPoints(node);
  }
  // Nodes built later (a walk reaching them) declare their OVS and pod points then.
  emu.onNodeBuilt((node) => {
    if (emu.runtime.capture === sink) dataPathPoints(node);
  });
  let order = emu.nodes.size * NODE_STRIDE;
  for (const i of emu.gateway.interfaces) {
    i.tap = register(
      {
        name: `gateway/${i.name}`,
        description: `underlay gateway ${i.name} ${addrText(i)}`,
        host: emu.gateway.name,
        role: 'gateway',
      },
      order++,
    );
  }
  for (const [name, s] of emu.externals) {
    for (const i of s.interfaces)
      i.tap = register(
        {
          name: `${name}/${i.name}`,
          description: `external host ${name} ${i.name} ${addrText(i)}`,
          host: name,
          role: 'external',
        },
        order++,
      );
  }
  emu.runtime.config.changed(); // taps are set: cached walks recorded without them are void
}
