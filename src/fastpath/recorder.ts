/**
 * The path recorder: the fast path's PathObserver (path-observer/path-observer.ts). While the first packet of a
 * header combination walks the slow path, every hop reports what it did here (see recipe.ts for the steps), and
 * anything a recipe cannot reproduce vetoes the recording: a drop, a new or cloned packet (ARP, ICMP errors,
 * floods, multi-output), a new or changing conntrack entry, a random choice, a rewrite the byte program has no
 * step for. A recording that reaches a host's local delivery unvetoed becomes a recipe.
 *
 * Hops find the recorder in their emulation's PathWatch while a walk is being recorded (the fast path puts it
 * there; a veto or the hand-off takes it out), as OVS's translation finds the xlate cache its caller passed in.
 */

import type { VxlanEncapTemplate } from '../../codecs/vxlan-encap.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Counted, CountedPort } from '../path-observer/counted.js';
import type { GuardedEntry, GuardedTable } from '../path-observer/guarded.js';
import type { IpIdSource, LocalDelivery, PathObserver } from '../path-observer/path-observer.js';
import type { PathWatch } from '../path-observer/path-watch.js';
import {
  OP_CAPTURE,
  OP_DEC_TTL_OVS,
  OP_DEC_TTL_STACK,
  OP_ENCAP,
  OP_NAT,
  OP_WINDOW,
  OP_WRITE_BYTES,
  PathRecipe,
  snapshotMetadata,
  type HandoffMetadata,
} from './recipe.js';

/**
 * A list that keeps its capacity when emptied (`arr.length = 0` gives V8 arrays a fresh, empty backing store, so
 * every recording would grow them again): recordings run often in bulk runs, and should not churn the heap.
 */
class List<T> {
  items: T[] = [];
  n = 0;
  push(x: T): void {
    this.items[this.n++] = x;
  }
  includes(x: T): boolean {
    for (let i = 0; i < this.n; i++) if (this.items[i] === x) return true;
    return false;
  }
  toArray(): T[] {
    return this.items.slice(0, this.n);
  }
}

/** A recipe being recorded (see PathRecipe for the fields). */
class Draft {
  version = 0;
  readonly ops = new List<number>();
  readonly args = new List<number>();
  readonly refs = new List<unknown>();
  readonly refs2 = new List<unknown>();
  readonly ovsRules = new List<Counted>();
  readonly ovsBytes = new List<number>();
  readonly nfRules = new List<Counted>();
  readonly nfRuleBytes = new List<number>();
  readonly nfChains = new List<Counted>();
  readonly nfChainBytes = new List<number>();
  readonly ifTx = new List<CountedPort>();
  readonly ifRx = new List<CountedPort>();
  readonly ctTables = new List<GuardedTable>();
  readonly ctEntries = new List<GuardedEntry>();
  readonly ctClasses = new List<number>();
  readonly ctIgnored = new List<boolean>();
  readonly ctTimes = new List<number>();
  readonly guardEntries = new List<GuardedEntry>();
  readonly guardStatus = new List<number>();
  readonly guardTcpState = new List<number>();
  readonly guardMark = new List<number>();
  readonly guardTables = new List<GuardedTable>();
  verifyL4 = false;
  private readonly lists: List<unknown>[] = [
    this.ops,
    this.args,
    this.refs,
    this.refs2,
    this.ovsRules,
    this.ovsBytes,
    this.nfRules,
    this.nfRuleBytes,
    this.nfChains,
    this.nfChainBytes,
    this.ifTx,
    this.ifRx,
    this.ctTables,
    this.ctEntries,
    this.ctClasses,
    this.ctIgnored,
    this.ctTimes,
    this.guardEntries,
    this.guardStatus,
    this.guardTcpState,
    this.guardMark,
    this.guardTables,
  ] as List<unknown>[];

  clear(version: number): void {
    for (const l of this.lists) l.n = 0;
    this.version = version;
    this.verifyL4 = false;
  }

  step(op: number, a: number, b: number, c: number, d: number, ref: unknown = null, ref2: unknown = null): void {
    this.ops.push(op);
    this.args.push(a);
    this.args.push(b);
    this.args.push(c);
    this.args.push(d);
    this.refs.push(ref);
    this.refs2.push(ref2);
  }

  /** The stored form, with the hand-off. */
  toRecipe(
    stack: LocalDelivery | null,
    iface: object | null,
    l3: number,
    meta: HandoffMetadata | null,
    duration: number,
  ): PathRecipe {
    const r = new PathRecipe();
    r.version = this.version;
    r.n = this.ops.n;
    r.ops = this.ops.toArray();
    r.args = this.args.toArray();
    r.refs = this.refs.toArray();
    r.refs2 = this.refs2.toArray();
    r.ovsRules = this.ovsRules.toArray();
    r.ovsBytes = this.ovsBytes.toArray();
    r.nfRules = this.nfRules.toArray();
    r.nfRuleBytes = this.nfRuleBytes.toArray();
    r.nfChains = this.nfChains.toArray();
    r.nfChainBytes = this.nfChainBytes.toArray();
    r.ifTx = this.ifTx.toArray();
    r.ifRx = this.ifRx.toArray();
    r.ctTables = this.ctTables.toArray();
    r.ctEntries = this.ctEntries.toArray();
    r.ctClasses = this.ctClasses.toArray();
    r.ctIgnored = this.ctIgnored.toArray();
    r.ctTimes = this.ctTimes.toArray();
    r.guardEntries = this.guardEntries.toArray();
    r.guardStatus = this.guardStatus.toArray();
    r.guardTcpState = this.guardTcpState.toArray();
    r.guardMark = this.guardMark.toArray();
    r.guardTables = this.guardTables.toArray();
    r.verifyL4 = this.verifyL4;
    r.duration = duration;
    r.handoffStack = stack;
    r.handoffIface = iface;
    r.handoffL3 = l3;
    r.handoffMeta = meta;
    return r;
  }
}

/** What becomes of a finished recording (the fast path stores it). */
export interface RecipeStore {
  store(rec: PathRecorder, recipe: PathRecipe): void;
  vetoed(reason: string): void;
}

/**
 * One recorder per fast path, reused: a recording that is vetoed stops at once (the watch is emptied and the rest
 * of the walk runs unobserved), and one that reaches local delivery is stored right there, before the host's
 * reaction (replies, which may be recorded in turn) runs.
 */
export class PathRecorder implements PathObserver {
  /** The recipe being built. */
  private readonly recipe = new Draft();
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
    private readonly clock: { readonly now: number },
    private readonly watch: PathWatch,
    private readonly sink: RecipeStore,
    keyWords: number,
  ) {
    this.key = new Int32Array(keyWords);
  }

  /** Start recording `pkt` and put this recorder in the watch; returns the recording's serial. */
  begin(pkt: PacketBuffer, version: number, key: Int32Array, slot: number): number {
    this.pkt = pkt;
    this.base = this.clock.now;
    this.start = pkt.start;
    this.end = pkt.end;
    this.key.set(key);
    this.slot = slot;
    this.recipe.clear(version);
    this.watch.observer = this;
    return ++this.serial;
  }

  /** Something the recipe cannot reproduce happened: the recording stops here. */
  veto(reason: string): void {
    this.stop();
    this.pkt = null;
    this.sink.vetoed(reason);
  }

  /** Out of the watch: the rest of the walk is not observed. */
  private stop(): void {
    if (this.watch.observer === this) this.watch.observer = null;
  }

  /** This recorder is in the watch (a recording is open). */
  get active(): boolean {
    return this.watch.observer === this;
  }

  private offset(): number {
    return this.clock.now - this.base;
  }

  /**
   * Before a step: true when `pkt` is the packet being recorded (steps about another one cannot be replayed: that
   * vetoes), after recording a window step if the frame window moved since the last step.
   */
  private caughtUp(pkt: PacketBuffer): boolean {
    if (pkt !== this.pkt) {
      this.veto('a second packet');
      return false;
    }
    if (pkt.start !== this.start || pkt.end !== this.end) {
      this.recipe.step(OP_WINDOW, pkt.start - this.start, pkt.end - pkt.start, 0, 0);
      this.start = pkt.start;
      this.end = pkt.end;
    }
    return true;
  }

  /** What has been recorded so far, without a hand-off (the audit compares a vetoed walk's steps with its recipe). */
  partial(): PathRecipe {
    return this.recipe.toRecipe(null, null, 0, null, this.offset());
  }

  /** The recording was still open when its walk returned (it ended without local delivery). */
  unfinished(): void {
    this.veto('the walk ended without local delivery');
  }

  // ---- counters (batched)

  flowCounted(rule: Counted, bytes: number): void {
    this.recipe.ovsRules.push(rule);
    this.recipe.ovsBytes.push(bytes);
  }

  ruleCounted(rule: Counted, bytes: number): void {
    this.recipe.nfRules.push(rule);
    this.recipe.nfRuleBytes.push(bytes);
  }

  chainCounted(chain: Counted, bytes: number): void {
    this.recipe.nfChains.push(chain);
    this.recipe.nfChainBytes.push(bytes);
  }

  transmitted(port: CountedPort): void {
    this.recipe.ifTx.push(port);
  }

  received(port: CountedPort): void {
    this.recipe.ifRx.push(port);
  }

  // ---- the byte program

  capture(tap: number, direction: 'inbound' | 'outbound', pkt: PacketBuffer, comment: string | undefined): void {
    if (!this.caughtUp(pkt)) return;
    this.recipe.step(OP_CAPTURE, tap, direction === 'outbound' ? 1 : 0, this.offset(), 0, comment);
  }

  /** The frame window moved (pull, trim, decapsulation, prepend). */
  window(pkt: PacketBuffer): void {
    this.caughtUp(pkt);
  }

  /** Bytes [at, at + length) of the frame were set to values the key determines (Ethernet header, set_field eth_dst). */
  wrote(pkt: PacketBuffer, at: number, length: number): void {
    if (!this.caughtUp(pkt)) return;
    this.recipe.step(OP_WRITE_BYTES, at - pkt.start, 0, 0, 0, Uint8Array.from(pkt.data.subarray(at, at + length)));
  }

  /** The forwarding stack decremented the TTL of the IPv4 header at l3. */
  stackDecTtl(pkt: PacketBuffer, l3: number): void {
    if (!this.caughtUp(pkt)) return;
    this.recipe.step(OP_DEC_TTL_STACK, l3 - pkt.start, 0, 0, 0);
  }

  /** OVS dec_ttl on the IPv4 header at l3. */
  ovsDecTtl(pkt: PacketBuffer, l3: number): void {
    if (!this.caughtUp(pkt)) return;
    this.recipe.step(OP_DEC_TTL_OVS, l3 - pkt.start, 0, 0, 0);
  }

  /** natPacket(…, e, dir, manip) was applied to the IPv4 header at l3. */
  nat(pkt: PacketBuffer, l3: number, e: GuardedEntry, dir: number, manip: number): void {
    if (!this.caughtUp(pkt)) return;
    this.guard(e);
    this.recipe.step(OP_NAT, l3 - pkt.start, dir, manip, 0, e);
  }

  /** vxlan0 is about to encapsulate the frame (the window step after it is implied: start moves to the outer IPv4). */
  encap(pkt: PacketBuffer, template: VxlanEncapTemplate, vni: number, srcPort: number, ipIds: IpIdSource): void {
    if (!this.caughtUp(pkt)) return;
    this.recipe.step(OP_ENCAP, vni, srcPort, 0, 0, template, ipIds);
  }

  /** After an encapsulation the window is where OP_ENCAP leaves it. */
  encapsulated(pkt: PacketBuffer): void {
    this.start = pkt.start;
    this.end = pkt.end;
  }

  // ---- conntrack

  /** The walk depends on this entry staying as it is now. */
  guard(e: GuardedEntry): void {
    const r = this.recipe;
    if (r.guardEntries.includes(e)) return;
    r.guardEntries.push(e);
    r.guardStatus.push(e.status);
    r.guardTcpState.push(e.tcpState);
    r.guardMark.push(e.mark);
  }

  /** A lookup found `e` in `ct`; `cls` is the timeout class refreshed (-1: none), `ignored` a TCP "ignore". */
  ctFound(ct: GuardedTable, e: GuardedEntry, cls: number, ignored: boolean): void {
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
  handoff(stack: LocalDelivery, iface: object, pkt: PacketBuffer, l3: number): void {
    if (!this.caughtUp(pkt)) return;
    const r = this.recipe;
    for (let i = 0; i < r.guardEntries.n; i++) {
      const e = r.guardEntries.items[i]!;
      if (
        e.status !== r.guardStatus.items[i] ||
        e.tcpState !== r.guardTcpState.items[i] ||
        e.mark !== r.guardMark.items[i]
      )
        return this.veto('conntrack entry changed');
    }
    this.stop();
    this.pkt = null;
    this.sink.store(this, r.toRecipe(stack, iface, l3 - pkt.start, snapshotMetadata(pkt), this.offset()));
  }
}
