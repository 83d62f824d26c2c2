/**
 * Puts a node's actual state into an emulated node: its flows and groups replace br0's, its iptables-save
 * replaces the node's rules, its conntrack entries are restored (so established connections walk as
 * established), its routes replace the kernel's and its interface MTUs and egress addresses are set. What a file
 * does not give stays as OpenShift SDN would program it.
 *
 * Simplified: routes and addresses only on the node NIC (the interface holding the HostSubnet's hostIP in
 * ip-addr.json, else one named like packetwalk's `eth0`) and tun0; routes through other devices are left out.
 */

import { formatGroup } from '../ovs/groups.js';
import type { EmulatedNode } from '../node/emulated-node.js';
import type { NetInterface } from '../ports/net-interface.js';
import type { NodeState, StateInterface } from './node-files.js';
import { podPortsFromFlows } from './ports.js';

/** What could not be applied, for the report. */
export interface ApplyResult {
  skipped: string[];
}

/** The node NIC's name in the dump: the interface holding hostIP. */
export function nicName(state: NodeState, hostIP: number): string | undefined {
  return state.interfaces?.find((i) => i.addrs.some((a) => a.ip === hostIP))?.name;
}

export function applyNodeState(n: EmulatedNode, state: NodeState, nowNs: number): ApplyResult {
  const skipped: string[] = [];
  const br = n.bridge;
  if (state.flows) movePorts(n, podPortsFromFlows(n.cluster, n.name, state.flows).pods);
  if (state.groups) {
    br.delGroups();
    for (const g of state.groups) br.addGroup(formatGroup(g));
  }
  if (state.flows) {
    br.delFlows();
    for (const f of state.flows) br.install(f.spec);
  }
  if (state.iptables) n.netfilter.load(state.iptables);
  if (state.conntrack) {
    const ct = n.netfilter.conntrack;
    for (const e of state.conntrack) {
      try {
        ct.restore(e.orig, e.reply, e, nowNs);
      } catch (err) {
        skipped.push(`${state.dir}/conntrack.txt:${e.line}: ${(err as Error).message}`);
      }
    }
  }
  const nic = nicName(state, n.hostSubnet.hostIP) ?? 'eth0';
  const devOf = (name: string): NetInterface | undefined =>
    name === nic ? n.nic : name === 'tun0' ? n.tun0 : undefined;
  if (state.interfaces) applyInterfaces(state.interfaces, devOf);
  if (state.routes) {
    const table = n.kernel.routes;
    for (const r of [...table.list()]) table.remove(r.dst, r.dev);
    for (const r of state.routes) {
      const dev = devOf(r.dev);
      if (!dev) {
        skipped.push(`${state.dir}/ip-route.json: route ${r.text}: device ${r.dev} is not modelled`);
        continue;
      }
      table.add({
        dst: r.dst,
        via: r.via,
        dev,
        src: r.src,
        scope: r.scope === 'link' ? 'link' : undefined,
        mtu: r.mtu,
      });
    }
  }
  return { skipped };
}

/** Renumber the pods' veths to the node's own ofports (two passes: a pod may move onto a port another one leaves). */
function movePorts(n: EmulatedNode, ports: Map<string, number>): void {
  const moves = [...ports].filter(([k, p]) => n.pods.get(k) && n.pods.get(k)!.veth.ofport !== p);
  if (moves.length === 0) return;
  let spare = 1 + Math.max(0, ...[...n.pods.values()].map((i) => i.veth.ofport), ...ports.values());
  for (const [k] of moves) n.movePodPort(k, spare++);
  for (const [k, p] of moves) n.movePodPort(k, p);
}

function applyInterfaces(ifs: StateInterface[], devOf: (name: string) => NetInterface | undefined): void {
  for (const i of ifs) {
    const dev = devOf(i.name);
    if (!dev) continue;
    if (dev.mtu !== i.mtu) dev.mtu = i.mtu;
    // Secondary addresses (egress IPs) the node really holds.
    for (const a of i.addrs) if (!dev.hasAddress(a.ip)) dev.addAddress({ ip: a.ip, prefix: a.prefix, label: a.label });
  }
}
