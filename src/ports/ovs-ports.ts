/**
 * The ports of br0 (OpenShift SDN `SetupOVS`): vxlan0 = ofport 1, tun0 = ofport 2, pod veths from 3 up.
 * Each turns a frame leaving the bridge into what the real port does with it, and hands frames arriving
 * from outside to the bridge with in_port set.
 */

import { ETHERNET_HEADER_LEN } from '../../codecs/ethernet.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Runtime } from '../runtime/runtime.js';
import type { TraceRecorder } from '../trace/types.js';
import type { FrameReceiver } from './frame-receiver.js';
import type { NetInterface } from './net-interface.js';
import { HOP_NS } from '../runtime/clock.js';

export const OFPORT_VXLAN = 1;
export const OFPORT_TUN0 = 2;
export const OFPORT_FIRST_POD = 3;

/** What ports need from br0. */
export interface BridgeInput {
  readonly name: string;
  /** Returns true when pkt was handed on (output); false when the caller still owns it (dropped). */
  process(pkt: PacketBuffer, trace?: TraceRecorder): boolean;
  /** Why the last packet the bridge did not output was dropped. */
  lastDropReason?(): string;
}

/** Run a frame through br0; a frame no flow outputs is counted as a drop with the bridge's reason. */
export function enterBridge(
  runtime: Runtime,
  nodeName: string,
  bridge: BridgeInput,
  pkt: PacketBuffer,
  trace: TraceRecorder | undefined,
): void {
  if (!bridge.process(pkt, trace))
    runtime.drop(pkt, nodeName, `${bridge.name}: ${bridge.lastDropReason?.() || 'dropped'}`);
}

/**
 * OVS's kernel datapath will not send a packet longer than the port device's MTU (ovs_vport_send: "dropped
 * over-mtu packet", counted as a tx error, never seen by a capture on the device, no ICMP). Returns true when
 * `pkt` (an Ethernet frame) was dropped here. Only frames that never fit reach this (a replayed capture).
 */
export function overMtu(runtime: Runtime, nodeName: string, port: string, mtu: number, pkt: PacketBuffer): boolean {
  const len = pkt.length - ETHERNET_HEADER_LEN;
  if (len <= mtu) return false;
  pkt.hopReason = undefined;
  runtime.drop(pkt, nodeName, `br0: dropped over-mtu packet on ${port}: ${len} > ${mtu} (ovs_vport_send)`);
  return true;
}

/** A port of br0: the bridge calls `output` for `output:N`. */
export interface OvsPort {
  readonly ofport: number;
  readonly name: string;
  output(pkt: PacketBuffer): void;
}

/**
 * The host end of a pod's veth pair, attached to br0. Frames from the pod enter the bridge here; frames the
 * bridge outputs cross the veth to the pod's eth0 (the kernel scrubs skb state on the way: dev_forward_skb).
 */
export class VethHostPort implements OvsPort, FrameReceiver {
  tap = -1;
  /** The pod's eth0. */
  peer: NetInterface | null = null;
  /** The host end's MTU (the CNI plugin sets it to the pod's, the overlay MTU). */
  mtu = 1450;

  constructor(
    readonly runtime: Runtime,
    readonly nodeName: string,
    readonly ofport: number,
    readonly name: string,
    readonly bridge: BridgeInput,
  ) {}

  receiveFrame(pkt: PacketBuffer): void {
    const rt = this.runtime;
    if (this.tap >= 0 && rt.capture) rt.captureFrame(this.tap, 'inbound', pkt, undefined);
    pkt.clearMetadata();
    pkt.inPort = this.ofport;
    const trace = rt.traceOf(pkt);
    if (trace)
      trace.add(
        'port',
        `${this.nodeName} ${this.name}: receive, enters br0 as in_port=${this.ofport}`,
        { port: this.name, ofport: this.ofport, direction: 'in' },
        this.nodeName,
      );
    rt.clock.advance(HOP_NS.port);
    enterBridge(rt, this.nodeName, this.bridge, pkt, trace);
  }

  output(pkt: PacketBuffer): void {
    const rt = this.runtime;
    if (overMtu(rt, this.nodeName, this.name, this.mtu, pkt)) return;
    if (this.tap >= 0 && rt.capture) rt.captureFrame(this.tap, 'outbound', pkt, pkt.hopReason);
    pkt.hopReason = undefined;
    if (pkt.traced)
      rt.traceOf(pkt)?.add(
        'port',
        `${this.nodeName} ${this.name}: br0 output:${this.ofport} -> veth to pod`,
        { port: this.name, ofport: this.ofport, direction: 'out' },
        this.nodeName,
      );
    pkt.clearMetadata();
    rt.clock.advance(HOP_NS.port);
    if (!this.peer) return rt.drop(pkt, this.nodeName, `${this.name}: veth peer missing`);
    this.peer.receiveFrame(pkt);
  }
}

/**
 * tun0: an OVS internal port. br0's `output:2` hands the frame to the node kernel's tun0 device (OVS resets the
 * skb's conntrack on the way in: internal_dev_recv); the kernel transmitting on tun0 puts the frame into br0 with
 * in_port=2, keeping the conntrack entry the kernel attached (OVS ct() reuses a cached skb entry).
 * The capture point is the kernel's tun0 interface (what `tcpdump -i tun0` sees).
 */
export class Tun0Port implements OvsPort, FrameReceiver {
  readonly ofport = 2;
  readonly name = 'tun0';
  /** The kernel-side tun0 device. */
  kernelDevice: NetInterface | null = null;

  constructor(
    readonly runtime: Runtime,
    readonly nodeName: string,
    readonly bridge: BridgeInput,
  ) {}

  /** Kernel transmitted on tun0: into br0. */
  receiveFrame(pkt: PacketBuffer): void {
    const rt = this.runtime;
    const ct = pkt.ctEntry;
    pkt.clearMetadata();
    pkt.ctEntry = ct;
    pkt.inPort = this.ofport;
    const trace = rt.traceOf(pkt);
    if (trace)
      trace.add(
        'port',
        `${this.nodeName} tun0: kernel transmit, enters br0 as in_port=2`,
        { port: 'tun0', ofport: 2, direction: 'in' },
        this.nodeName,
      );
    rt.clock.advance(HOP_NS.port);
    enterBridge(rt, this.nodeName, this.bridge, pkt, trace);
  }

  /** br0 output:2: to the node kernel. */
  output(pkt: PacketBuffer): void {
    const rt = this.runtime;
    if (this.kernelDevice && overMtu(rt, this.nodeName, 'tun0', this.kernelDevice.mtu, pkt)) return;
    if (pkt.traced)
      rt.traceOf(pkt)?.add(
        'port',
        `${this.nodeName} tun0: br0 output:2 -> node kernel${pkt.pktMark ? ` (skb mark 0x${(pkt.pktMark >>> 0).toString(16).padStart(8, '0')})` : ''}`,
        { port: 'tun0', ofport: 2, direction: 'out' },
        this.nodeName,
      );
    // OVS pkt_mark is the skb mark: it survives into the kernel (egress IPs depend on it); the rest is reset.
    const mark = pkt.pktMark;
    pkt.clearMetadata();
    pkt.pktMark = mark;
    rt.clock.advance(HOP_NS.port);
    if (!this.kernelDevice) return rt.drop(pkt, this.nodeName, 'tun0 has no kernel device');
    this.kernelDevice.receiveFrame(pkt);
  }
}
