/**
 * The node's connection tracking table: one per node, shared by iptables and OVS `ct()` (zone 0, as on a real
 * OpenShift SDN node where table 0's `ct(table=0)` finds the entries kube-proxy's DNAT created).
 *
 * Model (Linux nf_conntrack):
 * - An entry has an original and a reply tuple (the reply tuple reflects NAT), status bits (IPS_*), a TCP state and
 *   a timeout. Both tuples are hashed into one Map<hash, chain> so a packet from either side finds the entry.
 * - The first packet creates an *unconfirmed* entry attached to the packet (`pkt.ctEntry`, the skb's nfct); it
 *   enters the table at `confirm` (end of POSTROUTING/INPUT, or OVS `ct(commit)`). Dropped packets leave nothing.
 * - Timeouts are the kernel defaults (nf_conntrack_tcp_timeout_*, udp 30 s / 120 s stream, icmp 30 s, generic
 *   600 s) on the virtual clock (`now`, nanoseconds). Expiry is exact and needs no scan: entries sit in one FIFO
 *   per timeout class, and since the clock only moves forward each FIFO is ordered by deadline.
 * - `max` is nf_conntrack_max: when full, one unassured entry is evicted (early drop), else the new connection's
 *   packet is dropped with "nf_conntrack: table full, dropping packet".
 *
 * Per packet the table reads bytes at fixed offsets, hashes integers and allocates only for new connections.
 * Time: nanoseconds exceed 2^31 after two virtual seconds, and such a number passed to (or returned from) a call
 * that is not inlined is a heap number. So the public methods take `now` once and park it in `timeNs`, a field
 * the internals read; with `clock` set, `trackNow` reads the clock object directly and nothing is boxed.
 */

import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { CT_DNAT, CT_EST, CT_INV, CT_NEW, CT_REL, CT_RPL, CT_SNAT, CT_TRK } from '../buffer/packet-buffer.js';
import type { GuardedTable } from '../path-observer/guarded.js';
import { PathWatch } from '../path-observer/path-watch.js';
import { l4ChecksumValid } from './l4-checksum.js';
import {
  TCP_CLOSE,
  TCP_ESTABLISHED,
  TCP_IGNORE,
  TCP_INVALID,
  TCP_SEG_RST,
  TCP_SEG_SYN,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
  tcpNewState,
  tcpNextState,
  tcpSegmentClass,
} from './tcp-state.js';
import {
  CtTuple,
  hashTuple,
  invertTuple,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
  readTuple,
  TUPLE_ICMP_ERROR,
  TUPLE_INVALID,
} from './tuple.js';

// Status bits (include/uapi/linux/netfilter/nf_conntrack_common.h).
export const IPS_EXPECTED = 1 << 0;
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT;
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;
export const IPS_DYING = 1 << 9;

export const DIR_ORIGINAL = 0;
export const DIR_REPLY = 1;

const SEC = 1_000_000_000;

/** Timeouts in seconds, named after the sysctls (net.netfilter.nf_conntrack_*). */
export interface ConntrackTimeouts {
  tcpSynSent: number;
  tcpSynRecv: number;
  tcpEstablished: number;
  tcpFinWait: number;
  tcpCloseWait: number;
  tcpLastAck: number;
  tcpTimeWait: number;
  tcpClose: number;
  tcpSynSent2: number;
  tcpUnacknowledged: number;
  udp: number;
  udpStream: number;
  icmp: number;
  generic: number;
}

/** Linux defaults. */
export const DEFAULT_TIMEOUTS: Readonly<ConntrackTimeouts> = {
  tcpSynSent: 120,
  tcpSynRecv: 60,
  tcpEstablished: 432000,
  tcpFinWait: 120,
  tcpCloseWait: 60,
  tcpLastAck: 30,
  tcpTimeWait: 120,
  tcpClose: 10,
  tcpSynSent2: 120,
  tcpUnacknowledged: 300,
  udp: 30,
  udpStream: 120,
  icmp: 30,
  generic: 600,
};

// Timeout classes: 0-9 are the TCP states (TCP_NONE unused), then these.
const CLASS_TCP_UNACK = 10,
  CLASS_UDP = 11,
  CLASS_UDP_STREAM = 12,
  CLASS_ICMP = 13,
  CLASS_GENERIC = 14;
const N_CLASSES = 15;
/** How many entries per timeout class early drop looks at (the kernel looks at a few hash buckets). */
const EARLY_DROP_SCAN = 8;

/** One direction of an entry, hashed in the table. */
export class CtTupleNode extends CtTuple {
  hash = 0;
  next: CtTupleNode | null = null;
  constructor(
    readonly entry: ConntrackEntry,
    readonly dir: 0 | 1,
  ) {
    super();
  }
}

/** A tracked connection. */
export class ConntrackEntry {
  readonly orig: CtTupleNode = new CtTupleNode(this, 0);
  readonly reply: CtTupleNode = new CtTupleNode(this, 1);
  zone = 0;
  status = 0;
  tcpState = 0;
  /** ctmark (CONNMARK); 0 unless set. */
  mark = 0;
  /** Absolute expiry time (ns). */
  deadline = 0;
  timeoutClass = -1;
  expPrev: ConntrackEntry | null = null;
  expNext: ConntrackEntry | null = null;
  /** After this time a replied UDP flow counts as a stream (kernel: stream_ts = creation + 2 s). */
  udpStreamAt = 0;
  /** Creation order (the id `conntrack -L -o id` would show). */
  id = 0;
  /** The kernel's untracked template (raw table NOTRACK): one shared instance, never in the table. */
  readonly untracked: boolean;

  constructor(untracked = false) {
    this.untracked = untracked;
  }

  get confirmed(): boolean {
    return (this.status & IPS_CONFIRMED) !== 0;
  }

  /** The tuple of a direction. */
  tuple(dir: number): CtTupleNode {
    return dir === 0 ? this.orig : this.reply;
  }
}

/** What NOTRACK attaches to a packet (nf_ct_untracked). */
export const UNTRACKED = new ConntrackEntry(true);

/** Counters in the spirit of `conntrack -S`, plus expiry and table-full accounting. */
export interface ConntrackStats {
  found: number;
  /** Packets conntrack could not track (bad checksum, out-of-state TCP, unrelated ICMP errors, fragments). */
  invalid: number;
  /** Packets accepted without a state change (TCP transitions marked "ignore"). */
  ignore: number;
  insert: number;
  insertFailed: number;
  /** New connections dropped because the table was full. */
  drop: number;
  earlyDrop: number;
  expired: number;
}

export interface ConntrackOptions {
  /** nf_conntrack_max (default 262144). */
  max?: number;
  timeouts?: Partial<ConntrackTimeouts>;
  /** nf_conntrack_checksum: verify L4 checksums of packets tracked in PREROUTING (default true). */
  checksum?: boolean;
  /** The emulation's path watch (a walk being recorded hears of lookups and guards); default: a watch of its own. */
  watch?: PathWatch;
}

/** Result of `track`: accept the packet, or drop it (table full). */
export const TRACK_ACCEPT = 0;
export const TRACK_DROP = 1;

export class Conntrack implements GuardedTable {
  /** nf_conntrack_max; may be changed at run time, as `sysctl -w net.netfilter.nf_conntrack_max=N` does. */
  max: number;
  readonly timeouts: Readonly<ConntrackTimeouts>;
  readonly verifyChecksums: boolean;
  readonly stats: ConntrackStats = {
    found: 0,
    invalid: 0,
    ignore: 0,
    insert: 0,
    insertFailed: 0,
    drop: 0,
    earlyDrop: 0,
    expired: 0,
  };
  /** Confirmed entries in the table. */
  count = 0;
  /** The kernel log line of the last table-full drop, if any. */
  lastMessage: string | undefined;
  /** The virtual clock (ns), read by `trackNow`; null when callers pass the time. */
  clock: { readonly now: number } | null = null;
  /** The time of the current operation (ns); see the file comment. */
  private timeNs = 0;

  private readonly table = new Map<number, CtTupleNode>();
  private readonly classNs: number[];
  private readonly expHead: (ConntrackEntry | null)[] = new Array<ConntrackEntry | null>(N_CLASSES).fill(null);
  private readonly expTail: (ConntrackEntry | null)[] = new Array<ConntrackEntry | null>(N_CLASSES).fill(null);
  /** No entry expires before this (a lower bound of the FIFO heads' deadlines): most packets skip the expiry scan. */
  private nextExpiry = Infinity;
  private nextId = 1;
  // Scratch tuples (no allocation per packet).
  private readonly t = new CtTuple();
  private readonly inner = new CtTuple();
  private readonly inv = new CtTuple();

  private readonly watch: PathWatch;

  constructor(opts: ConntrackOptions = {}) {
    this.watch = opts.watch ?? new PathWatch();
    this.max = opts.max ?? 262144;
    const to = (this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts });
    this.verifyChecksums = opts.checksum ?? true;
    this.classNs = [
      0,
      to.tcpSynSent,
      to.tcpSynRecv,
      to.tcpEstablished,
      to.tcpFinWait,
      to.tcpCloseWait,
      to.tcpLastAck,
      to.tcpTimeWait,
      to.tcpClose,
      to.tcpSynSent2,
      to.tcpUnacknowledged,
      to.udp,
      to.udpStream,
      to.icmp,
      to.generic,
    ].map((s) => s * SEC);
  }

  // ------------------------------------------------------------------ per packet

  /**
   * nf_conntrack_in: find or create the entry for the IPv4 packet at `l3`, update its state and timeout, attach it
   * to the packet (`pkt.ctEntry`) and set `pkt.ctState` (+trk and new/est/rel/rpl/inv, +snat/+dnat from the entry)
   * and `pkt.ctZone`/`pkt.ctMark`. `checksum` verifies the L4 checksum first (true in PREROUTING and OVS ct()).
   * Returns TRACK_DROP only when the table is full and nothing could be evicted.
   */
  track(pkt: PacketBuffer, l3: number, now: number, zone = 0, checksum = this.verifyChecksums): number {
    this.timeNs = now;
    return this.trackAtTime(pkt, l3, zone, checksum);
  }

  /** `track` at `clock.now` (the clock must be set). */
  trackNow(pkt: PacketBuffer, l3: number, zone: number, checksum: boolean): number {
    this.timeNs = this.clock!.now;
    return this.trackAtTime(pkt, l3, zone, checksum);
  }

  private trackAtTime(pkt: PacketBuffer, l3: number, zone: number, checksum: boolean): number {
    const now = this.timeNs;
    const rec = this.watch.observer;
    if (rec !== null) {
      // A walk that expires entries or meets a new connection is a one-off: not something to replay.
      if (now >= this.nextExpiry) rec.veto('conntrack expiry due');
      if (checksum) rec.checksummed();
    }
    this.expireAtTime();
    const b = pkt.data;
    const t = this.t;
    const kind = readTuple(b, l3, pkt.end, t, this.inner);
    if (kind === TUPLE_INVALID) return this.invalid(pkt, zone);
    if (checksum && !l4ChecksumValid(b, l3)) return this.invalid(pkt, zone);
    if (kind === TUPLE_ICMP_ERROR) return this.trackIcmpError(pkt, zone);

    let node = this.findNode(t, zone);
    let entry: ConntrackEntry | null = node ? node.entry : null;
    let dir = node ? node.dir : 0;
    if (rec !== null) {
      if (entry === null) rec.veto('new connection');
      else rec.guard(entry);
    }
    const l4 = l3 + ((b[l3]! & 0x0f) << 2);
    let tcpState = 0;
    let seg = 0;
    if (t.proto === PROTO_TCP) {
      seg = tcpSegmentClass(b[l4 + 13]!);
      if (entry) {
        tcpState = tcpNextState(dir, seg, entry.tcpState);
        // A new SYN on a closed connection starts over (the kernel kills the entry and repeats the lookup).
        if (
          tcpState === TCP_SYN_SENT &&
          dir === 0 &&
          (entry.tcpState === TCP_TIME_WAIT || entry.tcpState === TCP_CLOSE) &&
          entry.confirmed
        ) {
          this.remove(entry);
          entry = node = null;
        }
      }
      if (!entry) tcpState = tcpNewState(seg);
      if (tcpState === TCP_INVALID) return this.invalid(pkt, zone);
    }
    if (entry) {
      this.stats.found++;
    } else {
      if (this.count >= this.max && !this.earlyDrop()) {
        this.stats.drop++;
        this.lastMessage = 'nf_conntrack: table full, dropping packet';
        pkt.ctEntry = null;
        pkt.ctState = 0;
        return TRACK_DROP;
      }
      entry = this.create(t, zone);
      dir = 0;
    }

    // Protocol state and the timeout it implies (nf_conntrack_proto_{tcp,udp,icmp}.c).
    const seenReply = (entry.status & IPS_SEEN_REPLY) !== 0;
    let cls = -1; // -1: keep the current deadline
    if (t.proto === PROTO_TCP) {
      if (tcpState === TCP_IGNORE) {
        this.stats.ignore++;
      } else {
        const old = entry.tcpState;
        entry.tcpState = tcpState;
        cls = seg === TCP_SEG_RST ? TCP_CLOSE : tcpState;
        if (!seenReply) {
          if (seg === TCP_SEG_SYN && old === TCP_SYN_SENT && entry.confirmed)
            cls = -1; // SYN retransmit: no renewal
          else if (tcpState === TCP_ESTABLISHED) cls = CLASS_TCP_UNACK; // picked up mid-stream, unanswered
        } else if ((old === TCP_SYN_RECV || old === TCP_ESTABLISHED) && tcpState === TCP_ESTABLISHED) {
          entry.status |= IPS_ASSURED;
        }
      }
    } else if (t.proto === PROTO_UDP) {
      cls = CLASS_UDP;
      if (seenReply && now > entry.udpStreamAt) {
        cls = CLASS_UDP_STREAM;
        entry.status |= IPS_ASSURED;
      } else if (seenReply && rec !== null) {
        rec.veto('UDP flow not yet a stream'); // the class depends on the time: a later packet may differ
      }
    } else if (t.proto === PROTO_ICMP) {
      cls = CLASS_ICMP;
    } else {
      cls = CLASS_GENERIC;
    }
    if (cls >= 0) this.refresh(entry, cls);
    if (rec !== null) rec.ctFound(this, entry, cls, t.proto === PROTO_TCP && tcpState === TCP_IGNORE);

    let state = CT_TRK;
    if (dir === 1) state |= CT_EST | CT_RPL;
    else state |= seenReply ? CT_EST : CT_NEW;
    if (dir === 1) entry.status |= IPS_SEEN_REPLY;
    // "If only reply is a RST, we can consider ourselves not to have an established connection" (tcp_packet).
    if (t.proto === PROTO_TCP && dir === 1 && !seenReply && seg === TCP_SEG_RST) this.remove(entry);
    return this.attach(pkt, entry, state);
  }

  /**
   * A fast-path replay of a lookup that found `e` (fastpath/recipe.ts): the statistics and the timeout refresh the
   * lookup made, at the time it made them.
   */
  replayFound(e: ConntrackEntry, cls: number, ignored: boolean, clock: { readonly now: number }): void {
    this.timeNs = clock.now;
    this.stats.found++;
    if (ignored) this.stats.ignore++;
    if (cls >= 0) this.refresh(e, cls);
  }

  /** No entry expires before this time (ns): a replayed walk that ends earlier does no expiry work. */
  get noExpiryBefore(): number {
    return this.nextExpiry;
  }

  /**
   * OVS's skb_nfct_cached: the packet already carries an entry (the kernel attached it and handed the packet to br0
   * through tun0). Recompute ct_state from the entry and the packet's direction without touching the entry.
   */
  stateOfAttached(pkt: PacketBuffer, l3: number): number {
    const e = pkt.ctEntry as ConntrackEntry | null;
    if (!e) return CT_TRK | CT_INV;
    if (e.untracked) return CT_TRK;
    this.watch.observer?.guard(e);
    const b = pkt.data;
    const kind = readTuple(b, l3, pkt.end, this.t, this.inner);
    let state = CT_TRK;
    if (kind === TUPLE_ICMP_ERROR) {
      // The quoted packet, inverted, is the tuple of the direction the error travels in.
      invertTuple(this.inner, this.inv);
      state |= CT_REL | (e.reply.equals(this.inv) ? CT_RPL : 0);
    } else if (e.reply.equals(this.t)) state |= CT_EST | CT_RPL;
    else state |= e.status & IPS_SEEN_REPLY ? CT_EST : CT_NEW;
    return state | natFlags(e.status);
  }

  /**
   * nf_conntrack_confirm: put the packet's unconfirmed entry into the table. Returns false when an entry with the
   * same original or reply tuple exists (insert_failed; the kernel drops the packet), except that identical UDP/ICMP
   * entries merge (nf_ct_resolve_clash) and the packet takes the existing one.
   */
  confirm(pkt: PacketBuffer, now: number): boolean {
    this.timeNs = now;
    const e = pkt.ctEntry as ConntrackEntry | null;
    if (!e || e.untracked || e.confirmed || e.status & IPS_DYING) return true;
    this.watch.observer?.veto('conntrack confirm'); // a new connection: one-off
    const a = this.findNode(e.orig, e.zone) ?? this.findNode(e.reply, e.zone);
    if (a) {
      const other = a.entry;
      if (e.orig.proto !== PROTO_TCP && other.orig.equals(e.orig) && other.reply.equals(e.reply)) {
        pkt.ctEntry = other;
        return true;
      }
      this.stats.insertFailed++;
      return false;
    }
    e.status |= IPS_CONFIRMED;
    this.hashInsert(e.orig);
    this.hashInsert(e.reply);
    this.count++;
    this.stats.insert++;
    // The timeout was set relative to the packet; it starts now (the kernel adds nfct_time_stamp at confirm).
    const cls = e.timeoutClass >= 0 ? e.timeoutClass : CLASS_GENERIC;
    e.timeoutClass = -1;
    this.refresh(e, cls);
    return true;
  }

  /**
   * nf_ct_attach: a locally generated ICMP error about `orig` is RELATED to orig's connection, in the opposite
   * direction (so NAT translates it and its embedded header back, as the kernel does for time exceeded).
   */
  attachRelated(err: PacketBuffer, orig: PacketBuffer): void {
    const e = orig.ctEntry as ConntrackEntry | null;
    if (!e || e.untracked) return;
    const origDir = orig.ctState & CT_RPL ? 1 : 0;
    err.ctEntry = e;
    err.ctZone = e.zone;
    err.ctState = CT_TRK | CT_REL | (origDir === 0 ? CT_RPL : 0) | natFlags(e.status);
  }

  /** Mark the packet untracked (raw table NOTRACK / CT --notrack). */
  untrack(pkt: PacketBuffer): void {
    pkt.ctEntry = UNTRACKED;
    pkt.ctState = CT_TRK;
  }

  // ------------------------------------------------------------------ lookup and maintenance

  /**
   * `conntrack -I`: add a confirmed entry for the original tuple (reply = its inverse, no NAT), as if both
   * directions had been seen: TCP in ESTABLISHED, UDP as an assured stream, ICMP and other protocols in their only
   * state; it expires after that state's default timeout from `now`. Throws when either tuple is already taken
   * or the table is full (the tool fails the same way).
   */
  insert(proto: number, src: number, dst: number, sport: number, dport: number, now: number, zone = 0): ConntrackEntry {
    const t = new CtTuple().set(proto, src >>> 0, dst >>> 0, sport, dport);
    const r = invertTuple(t, new CtTuple());
    if (this.isTaken(t, zone, null) || this.isTaken(r, zone, null))
      throw new Error('conntrack -I: such conntrack exists, try -U to update');
    if (this.count >= this.max) throw new Error('conntrack -I: table full');
    this.timeNs = now;
    const e = this.create(t, zone);
    e.status |= IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED;
    let cls = CLASS_GENERIC;
    if (proto === PROTO_TCP) {
      e.tcpState = TCP_ESTABLISHED;
      cls = TCP_ESTABLISHED;
    } else if (proto === PROTO_UDP) cls = CLASS_UDP_STREAM;
    else if (proto === PROTO_ICMP) cls = CLASS_ICMP;
    this.hashInsert(e.orig);
    this.hashInsert(e.reply);
    this.count++;
    this.stats.insert++;
    this.refresh(e, cls);
    return e;
  }

  /**
   * An entry as `conntrack -L` printed it on a real node (state/): both tuples as given (a NATed connection's
   * reply tuple is not the inverse of the original), the TCP state, SEEN_REPLY/ASSURED, the mark, and the seconds
   * it had left; NAT status bits follow from the tuples, as nf_nat sets them. Throws when a tuple is taken.
   */
  restore(
    orig: CtTuple,
    reply: CtTuple,
    e: { tcpState: number; replied: boolean; assured: boolean; mark: number; secondsLeft: number; zone: number },
    now: number,
  ): ConntrackEntry {
    if (this.isTaken(orig, e.zone, null) || this.isTaken(reply, e.zone, null)) throw new Error('such conntrack exists');
    this.timeNs = now;
    const c = this.create(orig, e.zone);
    c.reply.copyFrom(reply);
    c.status |= IPS_CONFIRMED | (e.replied ? IPS_SEEN_REPLY : 0) | (e.assured ? IPS_ASSURED : 0);
    if (reply.dst !== orig.src || reply.dport !== orig.sport) c.status |= IPS_SRC_NAT | IPS_SRC_NAT_DONE;
    if (reply.src !== orig.dst || reply.sport !== orig.dport) c.status |= IPS_DST_NAT | IPS_DST_NAT_DONE;
    c.mark = e.mark;
    let cls = CLASS_GENERIC;
    if (orig.proto === PROTO_TCP) cls = c.tcpState = e.tcpState;
    else if (orig.proto === PROTO_UDP) cls = e.assured ? CLASS_UDP_STREAM : CLASS_UDP;
    else if (orig.proto === PROTO_ICMP) cls = CLASS_ICMP;
    this.hashInsert(c.orig);
    this.hashInsert(c.reply);
    this.count++;
    this.stats.insert++;
    this.refresh(c, cls);
    // The deadline it had on the node, not the class default.
    c.deadline = now + (e.secondsLeft + 1) * SEC;
    if (c.deadline < this.nextExpiry) this.nextExpiry = c.deadline;
    return c;
  }

  /** The entry holding this tuple in either direction (tests, tools); sets `lastDir`. */
  lookup(proto: number, src: number, dst: number, sport: number, dport: number, zone = 0): ConntrackEntry | undefined {
    const node = this.findNode(this.inv.set(proto, src, dst, sport, dport), zone);
    if (!node) return undefined;
    this.lastDir = node.dir;
    return node.entry;
  }
  /** Direction of the last successful `lookup`. */
  lastDir = 0;

  /** True when some entry other than `ignore` uses `t` (either direction): nf_conntrack_tuple_taken. */
  isTaken(t: CtTuple, zone: number, ignore: ConntrackEntry | null): boolean {
    let n: CtTupleNode | null =
      this.table.get(hashTuple(zone, t.proto, t.src | 0, t.dst | 0, t.sport, t.dport)) ?? null;
    for (; n; n = n.next) {
      if (n.entry !== ignore && n.entry.zone === zone && n.equals(t)) return true;
    }
    return false;
  }

  /** Remove every entry whose deadline has passed. O(expired + classes). */
  expire(now: number): void {
    this.timeNs = now;
    this.expireAtTime();
  }

  private expireAtTime(): void {
    const now = this.timeNs;
    if (now < this.nextExpiry) return;
    let next = Infinity;
    for (let c = 0; c < N_CLASSES; c++) {
      let e = this.expHead[c] ?? null;
      while (e !== null && e.deadline <= now) {
        const after: ConntrackEntry | null = e.expNext;
        this.remove(e);
        this.stats.expired++;
        e = after;
      }
      if (e !== null && e.deadline < next) next = e.deadline;
    }
    this.nextExpiry = next;
  }

  /** Delete an entry (conntrack -D). */
  remove(e: ConntrackEntry): void {
    if (e.status & IPS_CONFIRMED) {
      this.hashRemove(e.orig);
      this.hashRemove(e.reply);
      this.unlinkExpiry(e);
      this.count--;
    }
    e.status = (e.status | IPS_DYING) & ~IPS_CONFIRMED;
  }

  /** All confirmed entries in creation order (cold path: allocates). */
  entries(): ConntrackEntry[] {
    const out: ConntrackEntry[] = [];
    for (let c = 0; c < N_CLASSES; c++) for (let e = this.expHead[c] ?? null; e; e = e.expNext) out.push(e);
    return out.sort((a, b) => a.id - b.id);
  }

  /** Seconds left before an entry expires, as `conntrack -L` prints it (rounded down, as jiffies/HZ is). */
  secondsLeft(e: ConntrackEntry, now: number): number {
    const left = e.deadline - now;
    return left > 0 ? Math.floor((left - 1) / SEC) : 0;
  }

  /** Drop all entries. */
  flush(): void {
    for (const e of this.entries()) this.remove(e);
  }

  // ------------------------------------------------------------------ internals

  private invalid(pkt: PacketBuffer, zone: number): number {
    this.watch.observer?.veto('conntrack: invalid');
    this.stats.invalid++;
    pkt.ctEntry = null;
    pkt.ctState = CT_TRK | CT_INV;
    pkt.ctZone = zone;
    return TRACK_ACCEPT;
  }

  private attach(pkt: PacketBuffer, e: ConntrackEntry, state: number): number {
    pkt.ctEntry = e;
    pkt.ctState = state | natFlags(e.status);
    pkt.ctZone = e.zone;
    pkt.ctMark = e.mark;
    return TRACK_ACCEPT;
  }

  /** nf_conntrack_inet_error: an ICMP error is RELATED to the connection of the packet it quotes. */
  private trackIcmpError(pkt: PacketBuffer, zone: number): number {
    this.watch.observer?.veto('ICMP error');
    invertTuple(this.inner, this.inv);
    const node = this.findNode(this.inv, zone);
    if (!node) return this.invalid(pkt, zone);
    const e = node.entry;
    // The error must be addressed to the sender of the quoted packet (the found direction's destination).
    if (e.tuple(node.dir).dst !== this.t.dst) return this.invalid(pkt, zone);
    this.stats.found++;
    return this.attach(pkt, e, CT_TRK | CT_REL | (node.dir === 1 ? CT_RPL : 0));
  }

  private create(t: CtTuple, zone: number): ConntrackEntry {
    const now = this.timeNs;
    const e = new ConntrackEntry();
    e.zone = zone;
    e.orig.copyFrom(t);
    invertTuple(t, e.reply);
    e.id = this.nextId++;
    e.udpStreamAt = now + 2 * SEC;
    return e;
  }

  private findNode(t: CtTuple, zone: number): CtTupleNode | null {
    let n: CtTupleNode | null =
      this.table.get(hashTuple(zone, t.proto, t.src | 0, t.dst | 0, t.sport, t.dport)) ?? null;
    for (; n; n = n.next) if (n.entry.zone === zone && n.equals(t)) return n;
    return null;
  }

  private hashInsert(n: CtTupleNode): void {
    n.hash = hashTuple(n.entry.zone, n.proto, n.src | 0, n.dst | 0, n.sport, n.dport);
    n.next = this.table.get(n.hash) ?? null;
    this.table.set(n.hash, n);
  }

  private hashRemove(n: CtTupleNode): void {
    const head = this.table.get(n.hash);
    if (head === n) {
      if (n.next) this.table.set(n.hash, n.next);
      else this.table.delete(n.hash);
    } else {
      for (let p: CtTupleNode | null = head ?? null; p; p = p.next) {
        if (p.next === n) {
          p.next = n.next;
          break;
        }
      }
    }
    n.next = null;
  }

  /** Set the timeout class and deadline; confirmed entries move to the tail of their class FIFO. */
  /** Set the deadline from `timeNs`. */
  private refresh(e: ConntrackEntry, cls: number): void {
    const now = this.timeNs;
    if (!(e.status & IPS_CONFIRMED)) {
      e.timeoutClass = cls;
      e.deadline = now + this.classNs[cls]!;
      return;
    }
    const deadline = now + this.classNs[cls]!;
    if (deadline < this.nextExpiry) this.nextExpiry = deadline;
    // Already last of its class (a flow's next packet): the FIFO stays ordered without relinking.
    if (e.timeoutClass === cls && this.expTail[cls] === e) {
      e.deadline = deadline;
      return;
    }
    this.unlinkExpiry(e);
    e.timeoutClass = cls;
    e.deadline = deadline;
    const tail = this.expTail[cls]!;
    e.expPrev = tail;
    e.expNext = null;
    if (tail) tail.expNext = e;
    else this.expHead[cls] = e;
    this.expTail[cls] = e;
  }

  private unlinkExpiry(e: ConntrackEntry): void {
    const c = e.timeoutClass;
    if (c < 0) return;
    if (e.expPrev) e.expPrev.expNext = e.expNext;
    else if (this.expHead[c] === e) this.expHead[c] = e.expNext;
    if (e.expNext) e.expNext.expPrev = e.expPrev;
    else if (this.expTail[c] === e) this.expTail[c] = e.expPrev;
    e.expPrev = e.expNext = null;
  }

  /** Evict the unassured entry closest to expiry among the first few of each timeout class. */
  private earlyDrop(): boolean {
    let victim: ConntrackEntry | null = null;
    for (let c = 0; c < N_CLASSES; c++) {
      let e = this.expHead[c] ?? null;
      for (let i = 0; e !== null && i < EARLY_DROP_SCAN; i++, e = e.expNext) {
        if (!(e.status & IPS_ASSURED) && (victim === null || e.deadline < victim.deadline)) victim = e;
      }
    }
    if (!victim) return false;
    this.remove(victim);
    this.stats.earlyDrop++;
    return true;
  }
}

/** +snat/+dnat bits of an entry's status. */
export function natFlags(status: number): number {
  return (status & IPS_SRC_NAT ? CT_SNAT : 0) | (status & IPS_DST_NAT ? CT_DNAT : 0);
}
