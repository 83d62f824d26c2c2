/**
 * Where a replayed capture enters the emulated data path (`packetwalk replay --at POINT`):
 *
 *   NS/POD          frames the pod's eth0 transmits. The capture stands in for the pod: its eth0 is replaced by
 *                   one that transmits the captured frames and takes in whatever comes back (counted as answers),
 *                   so the emulated pod's own stack neither answers nor resets what the real one sent.
 *   external[/NAME] frames the external host transmits (the capture stands in for it, as for a pod).
 *   NODE/eth0       frames arriving at the node's NIC from the underlay (VXLAN captured on a node); the node
 *                   stays emulated and answers as its kernel and br0 do.
 *   gateway[/eth1]  frames arriving at the underlay gateway from the internet side (eth1, the default) or from
 *                   the node network (gateway/eth0); the gateway routes them as a router would.
 */

import { ARP_LEN, ARP_REPLY, ARP_REQUEST, emitArp } from '../../codecs/arp.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_ARP, padEthernetFrame } from '../../codecs/ethernet.js';
import {
  ipv4ToString,
  macToString,
  readMac,
  readU16,
  readU32,
  writeMac,
  writeU16,
  type Ipv4Address,
  type MacAddress,
} from '../../codecs/bytes.js';
import type { Cluster } from '../cluster/types.js';
import type { Emulation } from '../node/emulation.js';
import type { Stack } from '../node/stack.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { FrameReceiver } from '../ports/frame-receiver.js';
import { NetInterface, type InterfaceOwner } from '../ports/net-interface.js';

/** A POINT the cluster does not have, or a malformed one (the CLI turns it into a usage error). */
export class ReplayPointError extends Error {}

export interface ReplayPoint {
  /** As the user wrote it, normalised (`project1/sqlapi-1-8jgx8`, `aro2-...-qt8l7/eth0`, `gateway/eth1`). */
  readonly label: string;
  /** 'transmit': the capture is what this host sent; 'receive': what this interface received. */
  readonly side: 'transmit' | 'receive';
  /** Host name in traces (the pod `ns/name`, the node, `underlay-gateway`, the external host). */
  readonly host: string;
  /** The emulated interface at the point (for a transmit point: the replacement that speaks for the capture). */
  readonly iface: NetInterface;
  /** The host's own stack (routes and addresses decide directions and next hops). */
  readonly stack: Stack;
  /** Put one frame into the data path here. */
  inject(pkt: PacketBuffer): void;
  /** Frames that came back to a transmit point (answers to the capture's host). */
  readonly answers: { count: number };
}

/**
 * The capture's host at a transmit point: frames that reach it are taken in and counted (the emulator does not
 * know what the captured host's applications would have done with them). Its kernel still answers ARP for its
 * addresses (arp_process does that whatever the applications do): without it, nobody could reach the host.
 */
class CaptureEndpoint implements InterfaceOwner {
  readonly answers = { count: 0 };
  constructor(
    readonly name: string,
    readonly runtime: Emulation['runtime'],
    readonly point: string,
  ) {}
  receiveOn(iface: NetInterface, pkt: PacketBuffer): void {
    const rt = this.runtime;
    this.answers.count++;
    const d = pkt.data,
      s = pkt.start,
      e = s + ETHERNET_HEADER_LEN;
    const isArpRequest =
      pkt.length >= ETHERNET_HEADER_LEN + ARP_LEN &&
      readU16(d, s + 12) === ETHERTYPE_ARP &&
      readU16(d, e + 6) === ARP_REQUEST;
    const target = isArpRequest ? readU32(d, e + 24) : 0;
    if (!isArpRequest || !iface.hasAddress(target)) {
      rt.deliver(pkt, this.name, `the replayed capture at ${this.point} (it speaks for this host)`);
      return;
    }
    const sha = readMac(d, e + 8),
      spa = readU32(d, e + 14);
    rt.traceOf(pkt)?.add(
      'arp',
      `ARP: ${ipv4ToString(target)} is at ${macToString(iface.mac)} (${iface.name}); the kernel of the replayed host replies to ${ipv4ToString(spa)}`,
      undefined,
      this.name,
    );
    rt.deliver(pkt, this.name, `${this.name} ARP (${iface.name}, replayed host)`);
    const reply = rt.newPacket(this.name, `ARP ${ipv4ToString(target)} is-at`);
    const o = reply.setFrame(ETHERNET_HEADER_LEN + ARP_LEN);
    writeMac(reply.data, o, sha);
    writeMac(reply.data, o + 6, iface.mac);
    writeU16(reply.data, o + 12, ETHERTYPE_ARP);
    emitArp(
      { op: ARP_REPLY, senderMac: iface.mac, senderIp: target, targetMac: sha, targetIp: spa },
      reply.data,
      o + ETHERNET_HEADER_LEN,
    );
    reply.end = padEthernetFrame(reply.data, reply.start, reply.end);
    reply.hopReason = `ARP reply for ${ipv4ToString(target)} (the replayed host's kernel)`;
    iface.transmit(reply);
  }
}

/** Resolve POINT against the emulation (call after captures are attached: the replacement keeps the tap). */
export function resolvePoint(emu: Emulation, point: string): ReplayPoint {
  const cluster = emu.cluster;
  const [first = '', second, ...rest] = point.split('/');
  if (rest.length) throw new ReplayPointError(pointHelp(cluster, `--at ${JSON.stringify(point)} has too many parts`));
  if (first === 'gateway' || first === emu.gateway.name) {
    const leg = second ?? 'eth1';
    const iface = emu.gateway.interfaces.find((i) => i.name === leg);
    if (!iface)
      throw new ReplayPointError(
        `--at ${point}: the gateway has ${emu.gateway.interfaces.map((i) => i.name).join(' and ')} (eth0 on the node network, eth1 towards the external hosts)`,
      );
    return receivePoint(`gateway/${leg}`, emu.gateway, iface);
  }
  if (first === 'external' || (second === undefined && emu.externals.has(first))) {
    const name = first === 'external' ? (second ?? [...emu.externals.keys()][0]) : first;
    const stack = name === undefined ? undefined : emu.externals.get(name);
    if (!stack)
      throw new ReplayPointError(
        `--at ${point}: no external host${second ? ` ${JSON.stringify(second)}` : ''} (the cluster has ${[...emu.externals.keys()].join(', ') || 'none'})`,
      );
    const orig = stack.interfaces[0]!;
    const seg = emu.internet;
    return transmitPoint(emu, `external/${name}`, stack, orig, (replacement) => {
      const plug = seg.replaceStation(orig, replacement);
      if (!plug) throw new Error(`external host ${name} is not on the internet segment`);
      return plug;
    });
  }
  if (second !== undefined) {
    const node = emu.nodes.get(first) ?? [...emu.nodes.values()].find((n) => n.name.endsWith(`-${first}`));
    if (node && second === 'eth0') return receivePoint(`${node.name}/eth0`, node.kernel, node.nic);
    if (node)
      throw new ReplayPointError(
        `--at ${point}: a node's replay point is its NIC, ${node.name}/eth0 (frames arriving from the underlay)`,
      );
    const pod = cluster.pods.find((p) => p.namespace === first && p.name === second);
    if (pod?.hostNetwork)
      throw new ReplayPointError(
        `--at ${point}: ${first}/${second} is a hostNetwork pod; replay at its node's NIC (${pod.node}/eth0) instead`,
      );
    if (pod) {
      const inst = emu.node(pod.node).pods.get(`${pod.namespace}/${pod.name}`)!;
      return transmitPoint(emu, `${pod.namespace}/${pod.name}`, inst.stack, inst.eth0, (replacement) => {
        inst.veth.peer = replacement;
        return inst.veth;
      });
    }
  }
  throw new ReplayPointError(
    pointHelp(
      cluster,
      `--at ${JSON.stringify(point)} is not a pod, node NIC, gateway or external host of this cluster`,
    ),
  );
}

function pointHelp(cluster: Cluster, what: string): string {
  const pod = cluster.pods.find((p) => !p.hostNetwork);
  const node = cluster.hostSubnets[0];
  return `${what}; use NS/POD (e.g. ${pod ? `${pod.namespace}/${pod.name}` : 'ns/pod'}), NODE/eth0 (e.g. ${node?.name ?? 'node'}/eth0), gateway[/eth0|/eth1] or external[/NAME]`;
}

function receivePoint(label: string, stack: Stack, iface: NetInterface): ReplayPoint {
  return {
    label,
    side: 'receive',
    host: stack.name,
    iface,
    stack,
    inject: (pkt) => iface.receiveFrame(pkt),
    answers: { count: 0 },
  };
}

/**
 * Replace `orig` (a host's interface) by an interface of the capture's endpoint with the same name, MAC, MTU,
 * addresses and capture point, plugged where `orig` was (`plug` moves the link and returns the far end).
 */
function transmitPoint(
  emu: Emulation,
  label: string,
  stack: Stack,
  orig: NetInterface,
  plug: (replacement: NetInterface) => FrameReceiver,
): ReplayPoint {
  const endpoint = new CaptureEndpoint(stack.name, emu.runtime, label);
  const iface = new NetInterface(emu.runtime, endpoint, orig.name, orig.mac, orig.mtu);
  for (const a of orig.addresses) iface.addAddress(a);
  iface.tap = orig.tap;
  iface.peer = plug(iface);
  orig.peer = null;
  return {
    label,
    side: 'transmit',
    host: stack.name,
    iface,
    stack,
    inject: (pkt) => iface.transmit(pkt),
    answers: endpoint.answers,
  };
}

/** The MAC of the emulated interface that owns `ip` (not counting `except`'s host), with a description. */
export function macOwning(
  emu: Emulation,
  ip: Ipv4Address,
  except?: Stack,
): { mac: MacAddress; what: string } | undefined {
  for (const s of emu.stacks()) {
    if (s === except) continue;
    for (const i of s.interfaces)
      if (i.hasAddress(ip)) return { mac: i.mac, what: `${i.name} of ${s.name} (${ipv4ToString(ip)})` };
  }
  return undefined;
}
