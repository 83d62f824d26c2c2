/**
 * A kernel network device: a pod's eth0, a node's tun0 and NIC, a macvlan, the gateway's ports. It belongs to
 * one Stack, has a MAC, an MTU and addresses, and a link peer it hands frames to. Every interface is a capture
 * point: frames it transmits are recorded outbound, frames it receives inbound.
 */

import type { Ipv4Address, MacAddress } from '../../codecs/bytes.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ConfigVersion } from '../path-observer/config-version.js';
import type { CountedPort } from '../path-observer/counted.js';
import type { PathWatch } from '../path-observer/path-watch.js';
import type { FrameReceiver } from './frame-receiver.js';
import { HOP_NS } from '../runtime/clock.js';

export interface InterfaceAddress {
  ip: Ipv4Address;
  prefix: number;
  /** Address label, e.g. `eth0:eip` for an egress IP (SDN egressip.go). */
  label?: string;
}

/** The receive side of the stack an interface belongs to. */
export interface InterfaceOwner {
  readonly name: string;
  receiveOn(iface: NetInterface, pkt: PacketBuffer): void;
}

export class NetInterface implements FrameReceiver, CountedPort {
  /** Addresses, primary first (add with `addAddress`). */
  readonly addresses: readonly InterfaceAddress[] = [];
  private peerLink: FrameReceiver | null = null;
  /** Capture point id, or -1 when this interface is not captured. */
  tap = -1;
  /** Frames sent / received, like `ip -s link`. */
  txPackets = 0;
  rxPackets = 0;
  private promisc = false;
  /** Clear conntrack/OVS metadata when a frame crosses this link (veth: dev_forward_skb scrubs the skb). */
  scrubOnTransmit = true;
  /** This link's number in the runtime (the fast path's key starts with it). */
  readonly linkId: number;
  private mtuBytes: number;
  /** The emulation's configuration version and path watch (from the runtime). */
  private readonly config: ConfigVersion;
  private readonly watch: PathWatch;

  constructor(
    readonly runtime: Runtime,
    readonly owner: InterfaceOwner,
    readonly name: string,
    public mac: MacAddress,
    mtu: number,
  ) {
    this.linkId = runtime.nextLinkId();
    this.mtuBytes = mtu;
    this.config = runtime.config;
    this.watch = runtime.watch;
  }

  /** `ip addr add`. */
  addAddress(a: InterfaceAddress): void {
    this.config.changed();
    (this.addresses as InterfaceAddress[]).push(a);
  }

  /** Link peer: the other veth end, the OVS port behind an internal port, or an L2 segment. */
  get peer(): FrameReceiver | null {
    return this.peerLink;
  }

  set peer(p: FrameReceiver | null) {
    this.config.changed();
    this.peerLink = p;
  }

  /** Accept frames for any destination MAC (the underlay segment delivers by MAC anyway). */
  get promiscuous(): boolean {
    return this.promisc;
  }

  set promiscuous(v: boolean) {
    this.config.changed();
    this.promisc = v;
  }

  get mtu(): number {
    return this.mtuBytes;
  }

  /** `ip link set mtu`: packets already cached as a path may take another one now. */
  set mtu(v: number) {
    this.config.changed();
    this.mtuBytes = v;
  }

  /** Primary (first) address, or 0. */
  get primaryIp(): Ipv4Address {
    return this.addresses[0]?.ip ?? 0;
  }

  /** `ip` as uint32 or int32. */
  hasAddress(ip: Ipv4Address): boolean {
    const as = this.addresses,
      v = ip | 0;
    for (let i = 0; i < as.length; i++) if ((as[i]!.ip | 0) === v) return true;
    return false;
  }

  countTransmit(): void {
    this.txPackets++;
  }

  countReceive(): void {
    this.rxPackets++;
  }

  /** Send a complete Ethernet frame out of this interface. */
  transmit(pkt: PacketBuffer): void {
    this.txPackets++;
    const rt = this.runtime;
    this.watch.observer?.transmitted(this);
    if (this.tap >= 0 && rt.capture) rt.captureFrame(this.tap, 'outbound', pkt, pkt.hopReason);
    pkt.hopReason = undefined;
    if (pkt.traced)
      rt.traceOf(pkt)?.add(
        'port',
        `${this.owner.name} ${this.name}: transmit (${pkt.length} bytes)`,
        { port: this.name, direction: 'out', length: pkt.length },
        this.owner.name,
      );
    if (this.scrubOnTransmit) pkt.clearMetadata();
    rt.clock.advance(HOP_NS.port);
    if (!this.peer) {
      rt.drop(pkt, this.owner.name, `${this.name} has no carrier`);
      return;
    }
    // Scrubbed frames carry nothing but bytes from here: the fast path may replay where they go.
    const fp = rt.fastPath;
    if (fp !== null && this.scrubOnTransmit) fp.carry(this.linkId, pkt, this.peer);
    else this.peer.receiveFrame(pkt);
  }

  /** A frame arrives from the link. */
  receiveFrame(pkt: PacketBuffer): void {
    this.rxPackets++;
    const rt = this.runtime;
    this.watch.observer?.received(this);
    // A frame br0 outputs to tun0 arrives here with the flow that sent it still pending as the hop reason.
    if (this.tap >= 0 && rt.capture) rt.captureFrame(this.tap, 'inbound', pkt, pkt.hopReason);
    pkt.hopReason = undefined;
    if (pkt.traced)
      rt.traceOf(pkt)?.add(
        'port',
        `${this.owner.name} ${this.name}: receive (${pkt.length} bytes)`,
        { port: this.name, direction: 'in', length: pkt.length },
        this.owner.name,
      );
    this.owner.receiveOn(this, pkt);
  }
}
