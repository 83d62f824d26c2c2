/**
 * The whole-path fast path, in the spirit of Open vSwitch's datapath flow cache but across every hop of the
 * emulation: a frame transmitted on a link is keyed by its link and every header field a walk decides on; the
 * second frame with a key walks the slow path while a PathRecorder notes what each hop did (recorder.ts; the
 * first only marks the key as seen, so one-off traffic costs a hash), and the next ones replay that recipe
 * (recipe.ts) — the same bytes at every capture point, the same counters, conntrack refreshes, IP IDs and clock —
 * until the emulation's configuration changes (its ConfigVersion) or a conntrack entry the walk depended on changes
 * state.
 *
 * The fast path is an observer the data path does not know: the emulation's builder injects it (`createFastPath`
 * as EmulationOptions.fastPath), hops report to the PathObserver interface through their emulation's PathWatch,
 * and a replay bumps counters and redoes conntrack lookups through the Counted and Guarded interfaces
 * (src/path-observer/), never through the data path's classes.
 *
 * The key: the link, both MACs, ethertype, IPv4 TOS, total length, flags and fragment offset, TTL, protocol,
 * addresses, ports, the TCP data offset and flags (UDP: length and whether the checksum is absent), and the
 * frame length. Only IPv4 TCP/UDP frames without IP options, fragments or VLAN tags, whose IPv4 header checksum
 * verifies, are keyed; everything else walks. Fields outside the key (IP ID, sequence numbers, windows, payload,
 * checksums) are never decided on: the recipe carries them through or patches checksums incrementally, so a
 * replayed frame is byte-for-byte what the slow path would make of it. A recipe whose walk verified an L4
 * checksum verifies it up front (incremental updates keep a checksum's validity, so up front is the same answer).
 *
 * Traced packets always walk (their traces are the point), and so do packets of a walk already being recorded.
 */

import { readI32 } from '../../codecs/bytes.js';
import { decrementIpv4Ttl, Ipv4View } from '../../codecs/ipv4.js';
import type { VxlanEncapTemplate } from '../../codecs/vxlan-encap.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { SecondChanceTable } from '../cache/second-chance.js';
import type { CaptureSink } from '../runtime/capture-sink.js';
import type { ConntrackEntry } from '../netfilter/conntrack.js';
import { l4ChecksumValid } from '../netfilter/l4-checksum.js';
import { natPacket, type ManipType } from '../netfilter/nat.js';
import type { ConfigVersion } from '../path-observer/config-version.js';
import type { PathCache, PathCacheStats } from '../path-observer/path-cache.js';
import type { IpIdSource } from '../path-observer/path-observer.js';
import type { PathWatch } from '../path-observer/path-watch.js';
import {
  ARGS,
  OP_CAPTURE,
  OP_DEC_TTL_OVS,
  OP_DEC_TTL_STACK,
  OP_ENCAP,
  OP_NAT,
  OP_WINDOW,
  OP_WRITE_BYTES,
  type PathRecipe,
} from './recipe.js';
import { divergence, recipeDifference } from './recipe-diff.js';
import { PathRecorder, type RecipeStore } from './recorder.js';

/** Key words per entry (see the file comment). */
const KEY_WORDS = 11;
/**
 * Cache slots (a power of two); direct-mapped, a colliding recipe replaces the older one, and a key is recorded on
 * its second miss, like a datapath flow that is only worth installing for traffic that repeats
 * (src/cache/second-chance.ts).
 */
const SLOTS = 4096;

/** How the fast path has fared (`vetoed`: see `lastVeto`). */
export type FastPathStats = PathCacheStats;

/**
 * What the fast path needs of the emulation it serves (the Runtime): its clock, capture sink, configuration
 * version and path watch.
 */
export interface FastPathHost {
  readonly clock: { readonly now: number; advance(ns: number): void };
  readonly capture: CaptureSink | null;
  readonly config: ConfigVersion;
  readonly watch: PathWatch;
}

/** The factory the emulation's builder injects (EmulationOptions.fastPath). */
export function createFastPath(host: FastPathHost): FastPath {
  return new FastPath(host);
}

/**
 * A fast path in audit mode (for tests): every hit walks the slow path while being recorded again, and the fresh
 * recording is compared with the stored recipe (recipe-diff.ts); differences land in `auditFailures`. The output
 * is the slow path's. A difference is state a walk decided on that changed without a report: the data path
 * forgot a ConfigVersion bump, a guard or a veto.
 */
export function createAuditingFastPath(host: FastPathHost): FastPath {
  return new FastPath(host, { audit: true });
}

export class FastPath implements PathCache, RecipeStore {
  readonly stats: FastPathStats = { hits: 0, misses: 0, stored: 0, vetoed: 0 };
  /** Why the last recording was not stored (for tests and debugging). */
  lastVeto = '';
  /** Recipes by key; never invalidated as a whole: a recipe stamped with an old configuration version misses. */
  private readonly recipes = new SecondChanceTable<PathRecipe>(SLOTS, KEY_WORDS);
  private readonly key = new Int32Array(KEY_WORDS);
  private readonly view = new Ipv4View(new Uint8Array(0));
  private readonly recorder: PathRecorder;

  private readonly config: ConfigVersion;
  private readonly watch: PathWatch;
  /** Audit mode (createAuditingFastPath): hits walk and are compared with their recipes. */
  private readonly audit: boolean;
  /** In audit mode, the recipe the walk being recorded is checked against. */
  private audited: PathRecipe | null = null;
  /** In audit mode, each hit whose walk did not do what its recipe does, named (see recipe-diff.ts). */
  readonly auditFailures: string[] = [];

  constructor(
    private readonly host: FastPathHost,
    opts: { audit?: boolean } = {},
  ) {
    this.audit = opts.audit ?? false;
    this.config = host.config;
    this.watch = host.watch;
    this.recorder = new PathRecorder(host.clock, host.watch, this, KEY_WORDS);
  }

  /**
   * Hand `pkt`, just transmitted on link `linkId`, to `next` (the link's far end): by replaying a recipe, or by
   * letting it walk (recorded when its headers can be keyed).
   */
  carry(linkId: number, pkt: PacketBuffer, next: { receiveFrame(pkt: PacketBuffer): void }): void {
    if (this.watch.observer !== null || pkt.traced || !this.keyOf(linkId, pkt)) {
      next.receiveFrame(pkt);
      return;
    }
    const recipes = this.recipes;
    const slot = recipes.slotOf(this.key, KEY_WORDS);
    const r = recipes.get(slot, this.key, KEY_WORDS);
    if (r !== null && r.version === this.config.value && this.guardsHold(r, pkt)) {
      this.stats.hits++;
      if (!this.audit) return this.replay(pkt, r);
      this.audited = r;
    } else {
      this.stats.misses++;
      if (recipes.firstMiss(slot)) {
        next.receiveFrame(pkt);
        return;
      }
    }
    const rec = this.recorder;
    const serial = rec.begin(pkt, this.config.value, this.key, slot);
    try {
      next.receiveFrame(pkt);
    } finally {
      if (rec.active && rec.serial === serial) rec.unfinished();
    }
  }

  /** A recording reached local delivery: keep a copy under its key. */
  store(rec: PathRecorder, recipe: PathRecipe): void {
    if (recipe.version !== this.config.value) return this.vetoed('the configuration changed during the walk');
    if (this.audited !== null) {
      const d = recipeDifference(this.audited, recipe);
      if (d !== undefined)
        this.auditFailures.push(`link ${rec.key[0]}: the walk no longer does what its recipe does: ${d}`);
      this.audited = null;
    }
    this.recipes.store(rec.slot, rec.key, KEY_WORDS, recipe, this.recipes.current);
    this.stats.stored++;
  }

  vetoed(reason: string): void {
    this.stats.vetoed++;
    this.lastVeto = reason;
    if (this.audited !== null) {
      const d = divergence(this.audited, this.recorder.partial());
      this.auditFailures.push(
        `link ${this.recorder.key[0]}: the recipe would have replayed, but the walk was vetoed (${reason})${d !== undefined ? ` after ${d}` : ''}`,
      );
      this.audited = null;
    }
  }

  /** Fill `this.key` from the frame; false when the frame is not keyable. */
  private keyOf(linkId: number, pkt: PacketBuffer): boolean {
    const b = pkt.data,
      s = pkt.start,
      len = pkt.end - s;
    if (len < 42 || b[s + 12] !== 0x08 || b[s + 13] !== 0x00 || b[s + 14] !== 0x45) return false;
    const ip = s + 14;
    const total = (b[ip + 2]! << 8) | b[ip + 3]!;
    const frag = (b[ip + 6]! << 8) | b[ip + 7]!;
    const proto = b[ip + 9]!;
    if (total + 14 > len || (frag & 0x3fff) !== 0) return false;
    const l4 = ip + 20;
    let l4word: number;
    if (proto === 6) {
      const doff = b[l4 + 12]! >>> 4;
      if (total < 40 || doff < 5 || 20 + doff * 4 > total) return false;
      l4word = (b[l4 + 12]! << 8) | b[l4 + 13]!;
    } else if (proto === 17) {
      if (total < 28) return false;
      const ulen = (b[l4 + 4]! << 8) | b[l4 + 5]!;
      l4word = (ulen << 16) | (b[l4 + 6] === 0 && b[l4 + 7] === 0 ? 1 : 0);
    } else {
      return false;
    }
    if (!this.view.reset(b, ip).checksumValid()) return false;
    const k = this.key;
    k[0] = linkId;
    k[1] = readI32(b, s);
    k[2] = readI32(b, s + 4);
    k[3] = readI32(b, s + 8);
    k[4] = (b[ip + 1]! << 16) | total;
    k[5] = (frag << 16) | (b[ip + 8]! << 8) | proto;
    k[6] = readI32(b, ip + 12);
    k[7] = readI32(b, ip + 16);
    k[8] = readI32(b, l4);
    k[9] = l4word;
    k[10] = len;
    return true;
  }

  /** The conntrack state the recipe was recorded with still holds, and nothing expires before the walk ends. */
  private guardsHold(r: PathRecipe, pkt: PacketBuffer): boolean {
    const es = r.guardEntries;
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      if (e.status !== r.guardStatus[i] || e.tcpState !== r.guardTcpState[i] || e.mark !== r.guardMark[i]) return false;
    }
    const end = this.host.clock.now + r.duration;
    const ts = r.guardTables;
    for (let i = 0; i < ts.length; i++) if (end >= ts[i]!.noExpiryBefore) return false;
    return !r.verifyL4 || l4ChecksumValid(pkt.data, pkt.start + 14);
  }

  private replay(pkt: PacketBuffer, r: PathRecipe): void {
    const host = this.host,
      clock = host.clock,
      capture = host.capture;
    // Time offsets are applied with advance(): storing `base + offset` (a double past 2^31) into the clock boxed
    // a fresh heap number per capture record.
    let at = 0;
    const b = pkt.data;
    const ops = r.ops,
      args = r.args,
      refs = r.refs;
    for (let i = 0, k = 0; i < r.n; i++, k += ARGS) {
      switch (ops[i]) {
        case OP_WINDOW:
          pkt.start += args[k]!;
          pkt.end = pkt.start + args[k + 1]!;
          break;
        case OP_WRITE_BYTES: {
          const src = refs[i] as Uint8Array;
          const at = pkt.start + args[k]!;
          for (let j = 0; j < src.length; j++) b[at + j] = src[j]!;
          break;
        }
        case OP_DEC_TTL_STACK:
        case OP_DEC_TTL_OVS:
          decrementIpv4Ttl(b, pkt.start + args[k]!);
          break;
        case OP_NAT:
          natPacket(
            b,
            pkt.start + args[k]!,
            pkt.end,
            refs[i] as ConntrackEntry,
            args[k + 1]!,
            args[k + 2] as ManipType,
          );
          break;
        case OP_ENCAP: {
          const ipIds = r.refs2[i] as IpIdSource;
          pkt.start =
            (refs[i] as VxlanEncapTemplate).encapsulate(
              b,
              pkt.start,
              pkt.end,
              args[k]!,
              args[k + 1]!,
              ipIds.nextIpId(),
            ) + 14;
          break;
        }
        case OP_CAPTURE:
          if (capture !== null) {
            clock.advance(args[k + 2]! - at);
            at = args[k + 2]!;
            capture.record(
              args[k]!,
              args[k + 1] === 1 ? 'outbound' : 'inbound',
              pkt,
              (refs[i] as string | null) ?? undefined,
            );
          }
          break;
      }
    }
    applyCounters(r);
    // Conntrack refreshes at the times the walk made them (the clock steps back and forth in whole nanoseconds).
    const ts = r.ctTables;
    for (let i = 0; i < ts.length; i++) {
      clock.advance(r.ctTimes[i]! - at);
      at = r.ctTimes[i]!;
      ts[i]!.replayFound(r.ctEntries[i]!, r.ctClasses[i]!, r.ctIgnored[i]!, clock);
    }
    clock.advance(r.duration - at);
    const m = r.handoffMeta!;
    pkt.inPort = m.inPort;
    pkt.reg0 = m.reg0;
    pkt.reg1 = m.reg1;
    pkt.reg2 = m.reg2;
    pkt.tunId = m.tunId;
    pkt.tunSrc = m.tunSrc;
    pkt.tunDst = m.tunDst;
    pkt.pktMark = m.pktMark;
    pkt.ctState = m.ctState;
    pkt.ctZone = m.ctZone;
    pkt.ctMark = m.ctMark;
    pkt.recirc = m.recirc;
    pkt.ctEntry = m.ctEntry;
    pkt.hopReason = undefined;
    r.handoffStack!.deliverLocal(r.handoffIface!, pkt, pkt.start + r.handoffL3);
  }
}

/**
 * The counters a walk bumps, all at once (nothing reads them during a walk), through the Counted interfaces. One
 * loop per kind, not one over all: each call site then sees one class (a br0 flow, an iptables rule...).
 */
function applyCounters(r: PathRecipe): void {
  const ovs = r.ovsRules,
    ovsBytes = r.ovsBytes;
  for (let i = 0; i < ovs.length; i++) ovs[i]!.countPacket(ovsBytes[i]!);
  const nf = r.nfRules,
    nfBytes = r.nfRuleBytes;
  for (let i = 0; i < nf.length; i++) nf[i]!.countPacket(nfBytes[i]!);
  const ch = r.nfChains,
    chBytes = r.nfChainBytes;
  for (let i = 0; i < ch.length; i++) ch[i]!.countPacket(chBytes[i]!);
  const tx = r.ifTx;
  for (let i = 0; i < tx.length; i++) tx[i]!.countTransmit();
  const rx = r.ifRx;
  for (let i = 0; i < rx.length; i++) rx[i]!.countReceive();
}
