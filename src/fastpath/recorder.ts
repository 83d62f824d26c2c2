/**
 * The path recorder: while the first packet of a header combination walks the slow path, every hop reports
 * what it did here (see recipe.ts for the steps), and anything a recipe cannot reproduce vetoes the recording:
 * a drop, a new or cloned packet (ARP, ICMP errors, floods, multi-output), a new or changing conntrack entry, a
 * random choice, a rewrite the byte program has no step for. A recording that reaches a host's local delivery
 * unvetoed becomes a recipe.
 *
 * Hops find the active recorder in `RECORDING.rec` (null when no walk is being recorded, which is one property
 * read on the fast path). It is process-wide because bridges, netfilter and conntrack do not hold the runtime;
 * walks are synchronous, so at most one recording is active at a time.
 */

import type { VxlanEncapTemplate } from '../../codecs/vxlan-encap.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Conntrack, ConntrackEntry } from '../netfilter/conntrack.js';
import type { Chain, Rule } from '../netfilter/rules.js';
import type { VirtualClock } from '../node/clock.js';
import type { Stack } from '../node/stack.js';
import type { FlowRule } from '../ovs/bridge.js';
import type { NetInterface } from '../ports/net-interface.js';
import {
  OP_CAPTURE, OP_DEC_TTL_OVS, OP_DEC_TTL_STACK, OP_ENCAP, OP_NAT, OP_WINDOW, OP_WRITE_BYTES, PathRecipe, snapshotMetadata,
} from './recipe.js';

/** The recording in progress, if any. */
export const RECORDING: { rec: PathRecorder | null } = { rec: null };

/** What becomes of a finished recording (the fast path stores it). */
export interface RecipeStore {
  store(rec: PathRecorder): void;
  vetoed(reason: string): void;
}

/**
 * One recorder per fast path, reused: a recording that is vetoed stops at once (RECORDING.rec becomes null and the
 * rest of the walk runs unrecorded), and one that reaches local delivery is stored right there, before the host's
 * reaction (replies, which may be recorded in turn) runs.
 */
export class PathRecorder {
  /** The recipe being built (scratch: the store copies it). */
  readonly recipe = new PathRecipe();
  /** The key and cache slot the recording will be stored under. */
  readonly key: Int32Array;
  slot = 0;
  /** Counts recordings; a walk that returns with its recording still open ended without local delivery. */
  serial = 0;
  /** The packet being recorded: any other packet reported here vetoes. */
  pkt: PacketBuffer | null = null;
  private base = 0;
  /** The frame window as the last step left it (window steps are relative to it). */
  private start = 0;
  private end = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly sink: RecipeStore,
    keyWords: number,
  ) {
    this.key = new Int32Array(keyWords);
  }

  /** Start recording `pkt` (the caller sets RECORDING.rec); returns the recording's serial. */
  begin(pkt: PacketBuffer, generation: number, key: Int32Array, slot: number): number {
    this.pkt = pkt;
    this.base = this.clock.now;
    this.start = pkt.start;
    this.end = pkt.end;
    this.key.set(key);
    this.slot = slot;
    this.recipe.clear();
    this.recipe.generation = generation;
    return ++this.serial;
  }

  /** Something the recipe cannot reproduce happened: the recording stops here. */
  veto(reason: string): void {
    if (RECORDING.rec === this) RECORDING.rec = null;
    this.pkt = null;
    this.sink.vetoed(reason);
  }

  private offset(): number {
    return this.clock.now - this.base;
  }

  /** Steps about a packet other than the one being recorded cannot be replayed. */
  private mine(pkt: PacketBuffer): boolean {
    if (pkt === this.pkt) return true;
    this.veto('a second packet');
    return false;
  }

  /** The recording was still open when its walk returned (it ended without local delivery). */
  unfinished(): void {
    this.veto('the walk ended without local delivery');
  }

  // ---- counters (batched)

  ovsRule(rule: FlowRule, bytes: number): void {
    this.recipe.ovsRules.push(rule);
    this.recipe.ovsBytes.push(bytes);
  }

  nfRule(rule: Rule, bytes: number): void {
    this.recipe.nfRules.push(rule);
    this.recipe.nfRuleBytes.push(bytes);
  }

  nfChain(chain: Chain, bytes: number): void {
    this.recipe.nfChains.push(chain);
    this.recipe.nfChainBytes.push(bytes);
  }

  ifTx(iface: NetInterface): void {
    this.recipe.ifTx.push(iface);
  }

  ifRx(iface: NetInterface): void {
    this.recipe.ifRx.push(iface);
  }

  // ---- the byte program

  capture(tap: number, outbound: boolean, pkt: PacketBuffer, comment: string | undefined): void {
    if (this.mine(pkt) && this.sync(pkt)) this.recipe.step(OP_CAPTURE, tap, outbound ? 1 : 0, this.offset(), 0, comment);
  }

  /** The frame window moved (pull, trim, decapsulation, prepend). */
  window(pkt: PacketBuffer): void {
    if (this.mine(pkt)) this.sync(pkt);
  }

  /** Record a window step if the window moved since the last step; false when the packet is not ours. */
  private sync(pkt: PacketBuffer): boolean {
    if (pkt.start === this.start && pkt.end === this.end) return true;
    this.recipe.step(OP_WINDOW, pkt.start - this.start, pkt.end - pkt.start, 0, 0);
    this.start = pkt.start;
    this.end = pkt.end;
    return true;
  }

  /** Bytes [at, at + length) of the frame were set to values the key determines (Ethernet header, set_field eth_dst). */
  wrote(pkt: PacketBuffer, at: number, length: number): void {
    if (!this.mine(pkt) || !this.sync(pkt)) return;
    this.recipe.step(OP_WRITE_BYTES, at - pkt.start, 0, 0, 0, Uint8Array.from(pkt.data.subarray(at, at + length)));
  }

  /** The forwarding stack decremented the TTL of the IPv4 header at l3. */
  stackDecTtl(pkt: PacketBuffer, l3: number): void {
    if (this.mine(pkt) && this.sync(pkt)) this.recipe.step(OP_DEC_TTL_STACK, l3 - pkt.start, 0, 0, 0);
  }

  /** OVS dec_ttl on the IPv4 header at l3. */
  ovsDecTtl(pkt: PacketBuffer, l3: number): void {
    if (this.mine(pkt) && this.sync(pkt)) this.recipe.step(OP_DEC_TTL_OVS, l3 - pkt.start, 0, 0, 0);
  }

  /** natPacket(…, e, dir, manip) was applied to the IPv4 header at l3. */
  nat(pkt: PacketBuffer, l3: number, e: ConntrackEntry, dir: number, manip: number): void {
    if (!this.mine(pkt) || !this.sync(pkt)) return;
    this.guard(e);
    this.recipe.step(OP_NAT, l3 - pkt.start, dir, manip, 0, e);
  }

  /** vxlan0 is about to encapsulate the frame (the window step after it is implied: start moves to the outer IPv4). */
  encap(pkt: PacketBuffer, template: VxlanEncapTemplate, vni: number, srcPort: number, stack: Stack): void {
    if (!this.mine(pkt) || !this.sync(pkt)) return;
    this.recipe.step(OP_ENCAP, vni, srcPort, 0, 0, template, stack);
  }

  /** After an encapsulation the window is where OP_ENCAP leaves it. */
  encapsulated(pkt: PacketBuffer): void {
    this.start = pkt.start;
    this.end = pkt.end;
  }

  // ---- conntrack

  /** The walk depends on this entry staying as it is now. */
  guard(e: ConntrackEntry): void {
    const r = this.recipe;
    if (r.guardEntries.includes(e)) return;
    r.guardEntries.push(e);
    r.guardStatus.push(e.status);
    r.guardTcpState.push(e.tcpState);
    r.guardMark.push(e.mark);
  }

  /** A lookup found `e` in `ct`; `cls` is the timeout class refreshed (-1: none), `ignored` a TCP "ignore". */
  ctFound(ct: Conntrack, e: ConntrackEntry, cls: number, ignored: boolean): void {
    const r = this.recipe;
    r.ctTables.push(ct);
    r.ctEntries.push(e);
    r.ctClasses.push(cls);
    r.ctIgnored.push(ignored);
    r.ctTimes.push(this.offset());
    if (!r.guardTables.includes(ct)) r.guardTables.push(ct);
  }

  /** The L4 checksum was verified on the way. */
  checksummed(): void {
    this.recipe.verifyL4 = true;
  }

  // ---- the end

  /**
   * The packet reached local delivery on `stack`: the recording ends here, unless a guarded entry changed on the
   * way (the next packet would see a different state) or something vetoed it.
   */
  handoff(stack: Stack, iface: NetInterface, pkt: PacketBuffer, l3: number): void {
    if (!this.mine(pkt) || !this.sync(pkt)) return;
    const r = this.recipe;
    for (let i = 0; i < r.guardEntries.length; i++) {
      const e = r.guardEntries[i]!;
      if (e.status !== r.guardStatus[i] || e.tcpState !== r.guardTcpState[i] || e.mark !== r.guardMark[i]) return this.veto('conntrack entry changed');
    }
    r.handoffStack = stack;
    r.handoffIface = iface;
    r.handoffL3 = l3 - pkt.start;
    r.handoffMeta = snapshotMetadata(pkt);
    r.duration = this.offset();
    if (RECORDING.rec === this) RECORDING.rec = null;
    this.pkt = null;
    this.sink.store(this);
  }
}
