/**
 * A node's netfilter: the iptables tables of a Ruleset walked at the five hooks in the kernel's order, with
 * conntrack and NAT — the kernel's nf_hook_slow calling each table's ipt_do_table (net/ipv4/netfilter/ip_tables.c),
 * nf_conntrack_in and nf_nat_inet_fn at their priorities.
 *
 *   PREROUTING   raw -> conntrack -> mangle -> nat (DNAT)
 *   INPUT        mangle -> filter -> nat (SNAT) -> conntrack confirm
 *   FORWARD      mangle -> filter
 *   OUTPUT       raw -> conntrack -> mangle -> nat (DNAT) -> filter
 *   POSTROUTING  mangle -> nat (SNAT) -> conntrack confirm
 *
 * The nat table is consulted only while a connection's binding for that hook's manip type is not set up, i.e. on
 * its first packet (nf_nat_inet_fn); every later packet, and every reply, reuses the binding. A RELATED ICMP error
 * is translated together with the header it quotes.
 *
 * The rules are walked as compile.ts laid them out (no strings or allocation per packet). With a TraceRecorder the
 * walk records each deciding rule as iptables-save text, conntrack and NAT steps. OVS's ct() action reaches the same
 * conntrack and NAT through track and applyBinding (src/node/ovs-conntrack.ts).
 */

import { readI32, readU16 } from '../../codecs/bytes.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { CT_DNAT, CT_EST, CT_INV, CT_NEW, CT_REL, CT_RPL, CT_SNAT, CT_TRK } from '../buffer/packet-buffer.js';
import { NF_ACCEPT, NF_DROP, NF_REJECT, type NetfilterHooks, type NfVerdict } from '../runtime/netfilter-hooks.js';
import type { TraceRecorder } from '../trace/types.js';
import { ConfigVersion } from '../path-observer/config-version.js';
import { PathWatch } from '../path-observer/path-watch.js';
import {
  type CMatch,
  CChain,
  copyChain,
  CRule,
  CTable,
  M_ADDRTYPE,
  M_COMMENT,
  M_CONNTRACK,
  M_ICMP,
  M_MARK,
  M_STATISTIC,
  M_TCP,
  M_UDP,
  OwnedRule,
  type SharedChains,
  T_ACCEPT,
  T_DNAT,
  T_DROP,
  T_GOTO,
  T_JUMP,
  T_MARK,
  T_MASQ,
  T_NONE,
  T_NOTRACK,
  T_REJECT,
  T_RETURN,
  T_SNAT,
} from './compile.js';
import {
  Conntrack,
  type ConntrackEntry,
  IPS_DST_NAT,
  IPS_SRC_NAT,
  natFlags,
  TRACK_DROP,
  UNTRACKED,
  type ConntrackOptions,
} from './conntrack.js';
import { addrText, ctEntryText, ctStateText, endpointText } from './conntrack-format.js';
import {
  icmpErrorTranslate,
  MANIP_DST,
  MANIP_SRC,
  natInitialized,
  natPacket,
  setNullBinding,
  setupNat,
  type ManipType,
  type RandomSource,
} from './nat.js';
import { Prng } from './prng.js';
import {
  CTSTATE_DNAT,
  CTSTATE_ESTABLISHED,
  CTSTATE_INVALID,
  CTSTATE_NEW,
  CTSTATE_RELATED,
  CTSTATE_SNAT,
  CTSTATE_UNTRACKED,
  type Ruleset,
  type TableName,
} from './rules.js';
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './tuple.js';

export interface NetfilterOptions {
  /** Seed of the instance's random source (statistic match, NAT ports). Default 0. */
  seed?: number;
  /** A random source to use instead of a seeded Prng (e.g. a fork of the run's generator). */
  random?: RandomSource;
  /** The conntrack table, or options for a new one. */
  conntrack?: Conntrack | ConntrackOptions;
  /** Addresses of each interface, primary first: MASQUERADE's source and `-m addrtype --dst-type LOCAL`. */
  interfaces?: Record<string, number[]>;
  /** The virtual clock (ns). Default: always 0. */
  now?: () => number;
  /**
   * The virtual clock as an object whose `now` (ns) is read directly; preferred over `now`, whose result, a double
   * above 2^31, is a fresh heap number on every call. Also given to the conntrack table when it has none.
   */
  clock?: { readonly now: number };
  /** Node name for trace nodes. */
  node?: string;
  /** The emulation's configuration version, bumped by rule and address changes; default: a version of its own. */
  config?: ConfigVersion;
  /** The emulation's path watch (also given to a conntrack table made here); default: a watch of its own. */
  watch?: PathWatch;
  /** User chains compiled once for many netfilters (kube-proxy's, the same on every node): see SharedChains. */
  shared?: SharedChains;
}

const MAX_DEPTH = 64;

/** Slot of a built-in chain in Netfilter.builtins: table index * 5 + hook index (no string-keyed Map per packet). */
function builtinSlot(table: string, chain: string): number {
  const t = table === 'raw' ? 0 : table === 'mangle' ? 1 : table === 'nat' ? 2 : table === 'filter' ? 3 : -1;
  const c =
    chain === 'PREROUTING'
      ? 0
      : chain === 'INPUT'
        ? 1
        : chain === 'FORWARD'
          ? 2
          : chain === 'OUTPUT'
            ? 3
            : chain === 'POSTROUTING'
              ? 4
              : -1;
  return t < 0 || c < 0 ? -1 : t * 5 + c;
}

// Built-in chain slots (builtinSlot) the hooks walk, as constants.
const RAW_PREROUTING = 0,
  RAW_OUTPUT = 3;
const MANGLE_PREROUTING = 5,
  MANGLE_INPUT = 6,
  MANGLE_FORWARD = 7,
  MANGLE_OUTPUT = 8,
  MANGLE_POSTROUTING = 9;
const NAT_PREROUTING = 10,
  NAT_INPUT = 11,
  NAT_OUTPUT = 13,
  NAT_POSTROUTING = 14;
const FILTER_INPUT = 16,
  FILTER_FORWARD = 17,
  FILTER_OUTPUT = 18;

/** The netfilter of one network namespace (a node's host namespace, or an egress router pod's). */
export class Netfilter implements NetfilterHooks {
  readonly conntrack: Conntrack;
  readonly random: RandomSource;
  /** The virtual clock (ns). */
  readonly now: () => number;
  /** Node name for trace nodes. */
  readonly node: string | undefined;
  private tables = new Map<TableName, CTable>();
  /** The built-in chains by builtinSlot (undefined where the table or chain does not exist). */
  private builtins: (CChain | undefined)[] = [];
  private ifAddrs = new Map<string, number>();
  /** LOCAL addresses as int32. */
  private local = new Set<number>();
  private last: CRule | null = null;
  private readonly shared: SharedChains | undefined;
  /** This netfilter's copies of the shared chains it has counted a match in (see SharedChains). */
  private owned = new Map<CChain, OwnedRule[]>();
  private lastReason: string | undefined;
  // Per-traversal packet fields (read once per table walk); addresses as int32: a uint32 >= 2^31 in a field is a
  // double, boxed whenever it is passed on (Map/Set keys included).
  private pSrc = 0;
  private pDst = 0;
  private pProto = 0;
  private pL4 = 0;
  private pLen = 0;
  private inIf = '';
  private outIf = '';
  private readonly stackList: CRule[][] = new Array<CRule[]>(MAX_DEPTH);
  private readonly stackChain: CChain[] = new Array<CChain>(MAX_DEPTH);
  private readonly stackPos = new Int32Array(MAX_DEPTH);

  private readonly config: ConfigVersion;
  /** The emulation's path watch (its observer vetoes recording a path that changes conntrack state). */
  readonly watch: PathWatch;

  constructor(ruleset: Ruleset, opts: NetfilterOptions = {}) {
    this.config = opts.config ?? new ConfigVersion();
    this.watch = opts.watch ?? new PathWatch();
    this.conntrack =
      opts.conntrack instanceof Conntrack ? opts.conntrack : new Conntrack({ ...opts.conntrack, watch: this.watch });
    this.random = opts.random ?? new Prng(opts.seed ?? 0);
    const clock = opts.clock;
    this.now = opts.now ?? (clock ? () => clock.now : () => 0);
    if (clock && !this.conntrack.clock) this.conntrack.clock = clock;
    this.node = opts.node;
    this.shared = opts.shared;
    this.setInterfaces(opts.interfaces ?? {});
    this.load(ruleset);
  }

  /** The rules being evaluated (their counters count matches). */
  ruleset!: Ruleset;

  /** Replace the rules (iptables-restore); conntrack entries stay. */
  load(rs: Ruleset): void {
    this.config.changed();
    this.ruleset = rs;
    this.owned = new Map();
    const tables = new Map<TableName, CTable>();
    for (const [name, t] of rs.tables) {
      const ct = new CTable(name);
      // Shared chains are reused only when the table holds every one of them (their jumps stay among them).
      const shared = this.shared?.tables.get(name);
      let reused = 0;
      if (shared) for (const [n, s] of shared) if (t.chains.get(n) === s.chain) reused++;
      const reuse = shared !== undefined && reused === shared.size;
      for (const c of t.chains.values()) {
        if (reuse) ct.chains.set(c.name, shared!.get(c.name) ?? new CChain(c, c.policy !== undefined, name));
        else if (shared?.get(c.name)?.chain === c) {
          // A shared chain compiled as this netfilter's own: it counts into its own copy, never the shared rules.
          const copy = copyChain(c);
          t.chains.set(c.name, copy);
          ct.chains.set(c.name, new CChain(copy, false, name));
        } else ct.chains.set(c.name, new CChain(c, c.policy !== undefined, name));
      }
      for (const c of ct.chains.values()) {
        if (reuse && shared!.get(c.chain.name) === c) continue;
        c.rules = c.chain.rules.map((r) => new CRule(c.chain.name, name, r, ct.chains));
        c.buildIndex();
      }
      tables.set(name, ct);
    }
    this.tables = tables;
    const builtins = new Array<CChain | undefined>(20).fill(undefined);
    for (const [name, t] of tables) {
      for (const [chainName, c] of t.chains) {
        const slot = builtinSlot(name, chainName);
        if (slot >= 0) builtins[slot] = c;
      }
    }
    this.builtins = builtins;
  }

  /** Interface addresses (primary first); all of them plus 127.0.0.0/8 are LOCAL. */
  setInterfaces(ifs: Record<string, number[]>): void {
    this.config.changed();
    this.ifAddrs = new Map();
    this.local = new Set();
    for (const [name, addrs] of Object.entries(ifs)) {
      if (addrs.length) this.ifAddrs.set(name, addrs[0]! >>> 0);
      for (const a of addrs) this.local.add(a | 0);
    }
  }

  /** The rule (iptables-save text) or reason behind the last DROP/REJECT. */
  lastRule(): string | undefined {
    return this.lastReason ?? this.last?.text;
  }

  // ------------------------------------------------------------------ hooks

  prerouting(pkt: PacketBuffer, l3: number, inIf: string, trace?: TraceRecorder): NfVerdict {
    this.begin(inIf, '');
    let v = this.runTable(RAW_PREROUTING, pkt, l3, trace);
    if (v !== NF_ACCEPT) return v;
    if (!this.attached(pkt) && !this.track(pkt, l3, true, trace)) return NF_DROP;
    v = this.runTable(MANGLE_PREROUTING, pkt, l3, trace);
    if (v !== NF_ACCEPT) return v;
    return this.natHook(NAT_PREROUTING, MANIP_DST, pkt, l3, trace);
  }

  input(pkt: PacketBuffer, l3: number, inIf: string, trace?: TraceRecorder): NfVerdict {
    this.begin(inIf, '');
    let v = this.runTable(MANGLE_INPUT, pkt, l3, trace);
    if (v === NF_ACCEPT) v = this.runTable(FILTER_INPUT, pkt, l3, trace);
    if (v === NF_ACCEPT) v = this.natHook(NAT_INPUT, MANIP_SRC, pkt, l3, trace);
    if (v === NF_ACCEPT) v = this.confirm(pkt, trace);
    return v;
  }

  forward(pkt: PacketBuffer, l3: number, inIf: string, outIf: string, trace?: TraceRecorder): NfVerdict {
    this.begin(inIf, outIf);
    const v = this.runTable(MANGLE_FORWARD, pkt, l3, trace);
    return v === NF_ACCEPT ? this.runTable(FILTER_FORWARD, pkt, l3, trace) : v;
  }

  output(pkt: PacketBuffer, l3: number, outIf: string, trace?: TraceRecorder): NfVerdict {
    this.begin('', outIf);
    let v = this.runTable(RAW_OUTPUT, pkt, l3, trace);
    if (v !== NF_ACCEPT) return v;
    // Locally generated packets carry no bad checksums worth checking (the kernel checks only in PREROUTING).
    if (!this.attached(pkt) && !this.track(pkt, l3, false, trace)) return NF_DROP;
    v = this.runTable(MANGLE_OUTPUT, pkt, l3, trace);
    if (v === NF_ACCEPT) v = this.natHook(NAT_OUTPUT, MANIP_DST, pkt, l3, trace);
    if (v === NF_ACCEPT) v = this.runTable(FILTER_OUTPUT, pkt, l3, trace);
    return v;
  }

  postrouting(pkt: PacketBuffer, l3: number, outIf: string, trace?: TraceRecorder): NfVerdict {
    this.begin('', outIf);
    let v = this.runTable(MANGLE_POSTROUTING, pkt, l3, trace);
    if (v === NF_ACCEPT) v = this.natHook(NAT_POSTROUTING, MANIP_SRC, pkt, l3, trace);
    if (v === NF_ACCEPT) v = this.confirm(pkt, trace);
    return v;
  }

  /** A locally generated ICMP error about `orig` belongs to orig's connection (nf_ct_attach). */
  attachRelated(err: PacketBuffer, orig: PacketBuffer): void {
    this.conntrack.attachRelated(err, orig);
  }

  // ------------------------------------------------------------------ internals

  private begin(inIf: string, outIf: string): void {
    this.inIf = inIf;
    this.outIf = outIf;
    this.last = null;
    this.lastReason = undefined;
  }

  /** The packet already carries an entry for this traversal (skb->_nfct set). */
  private attached(pkt: PacketBuffer): boolean {
    return pkt.ctEntry !== null && (pkt.ctState & CT_TRK) !== 0;
  }

  /**
   * nf_conntrack_in: look the packet up in zone `zone` (a new entry is unconfirmed) and set pkt.ctEntry/ctState;
   * false when the table is full (lastRule() says so). Also OVS ct()'s lookup (src/node/ovs-conntrack.ts).
   */
  track(pkt: PacketBuffer, l3: number, checksum: boolean, trace: TraceRecorder | undefined, zone = 0): boolean {
    const ct = this.conntrack;
    const verdict = ct.clock
      ? ct.trackNow(pkt, l3, zone, checksum && ct.verifyChecksums)
      : ct.track(pkt, l3, this.now(), zone, checksum && ct.verifyChecksums);
    if (verdict === TRACK_DROP) {
      this.lastReason = ct.lastMessage;
      if (trace) trace.add('drop', ct.lastMessage ?? 'conntrack: table full', undefined, this.node);
      return false;
    }
    if (trace) {
      const e = pkt.ctEntry as ConntrackEntry | null;
      trace.add(
        'ct',
        `conntrack (zone ${zone}): ${ctStateText(pkt.ctState)}${e && !e.untracked ? ` ${ctEntryText(e)}${e.confirmed ? '' : ' (unconfirmed)'}` : ''}`,
        { state: ctStateText(pkt.ctState), zone },
        this.node,
      );
    }
    return true;
  }

  private confirm(pkt: PacketBuffer, trace: TraceRecorder | undefined): NfVerdict {
    const e = pkt.ctEntry as ConntrackEntry | null;
    if (!e || e.untracked || e.confirmed) return NF_ACCEPT;
    if (!this.conntrack.confirm(pkt, this.now())) {
      this.lastReason = 'conntrack: insert failed (clash)';
      if (trace) trace.add('drop', this.lastReason, undefined, this.node);
      return NF_DROP;
    }
    if (trace) trace.add('ct', `conntrack: confirmed ${ctEntryText(e)}`, undefined, this.node);
    return NF_ACCEPT;
  }

  /** nf_nat_inet_fn for one hook. */
  private natHook(
    slot: number,
    manip: ManipType,
    pkt: PacketBuffer,
    l3: number,
    trace: TraceRecorder | undefined,
  ): NfVerdict {
    const e = pkt.ctEntry as ConntrackEntry | null;
    if (!e || e.untracked) return NF_ACCEPT;
    const st = pkt.ctState;
    const dir = st & CT_RPL ? 1 : 0;
    if (st & CT_REL) {
      this.applyBinding(pkt, l3, e, dir, manip, trace);
      return NF_ACCEPT;
    }
    let v: NfVerdict = NF_ACCEPT;
    if (!natInitialized(e, manip)) {
      // Only the first packet of a connection (still unconfirmed) walks the nat table.
      if (!e.confirmed) v = this.runTable(slot, pkt, l3, trace, manip);
      if (!natInitialized(e, manip)) {
        this.watch.observer?.veto('NAT binding set up');
        setNullBinding(e, manip);
      }
      if (v !== NF_ACCEPT) return v;
    }
    this.applyBinding(pkt, l3, e, dir, manip, trace);
    return v;
  }

  /**
   * nf_nat_packet for one manip type: rewrite the packet (`dir` 0 original, 1 reply) by the entry's binding, a
   * RELATED ICMP error with the header it quotes. Also OVS ct(nat)'s translation (src/node/ovs-conntrack.ts).
   */
  applyBinding(
    pkt: PacketBuffer,
    l3: number,
    e: ConntrackEntry,
    dir: number,
    manip: ManipType,
    trace: TraceRecorder | undefined,
  ): void {
    const b = pkt.data;
    if (pkt.ctState & CT_REL) {
      this.watch.observer?.veto('RELATED ICMP error');
      if (b[l3 + 9] !== PROTO_ICMP) return;
      const was = trace ? addrText(b, l3) : '';
      if (icmpErrorTranslate(b, l3, pkt.end, e, dir, manip) && trace) {
        trace.add(
          'nat',
          `ICMP error (RELATED): ${was} -> ${addrText(b, l3)}, quoted header translated back`,
          undefined,
          this.node,
        );
      }
      return;
    }
    const before = trace ? endpointText(b, l3, manip === MANIP_SRC) : '';
    this.watch.observer?.nat(pkt, l3, e, dir, manip);
    if (natPacket(b, l3, pkt.end, e, dir, manip)) {
      pkt.ctState = (pkt.ctState & ~(CT_SNAT | CT_DNAT)) | natFlags(e.status);
      if (trace) {
        const what = dir === 0 ? (manip === MANIP_SRC ? 'SNAT' : 'DNAT') : manip === MANIP_SRC ? 'un-DNAT' : 'un-SNAT';
        const side = manip === MANIP_SRC ? 'source' : 'destination';
        trace.add(
          'nat',
          `${what}: ${side} ${before} -> ${endpointText(b, l3, manip === MANIP_SRC)}`,
          { kind: what, before, after: endpointText(b, l3, manip === MANIP_SRC) },
          this.node,
        );
      }
    }
  }

  /** A packet fell off the end of a built-in chain: its policy counters (and a path recording's). */
  private countPolicy(c: CChain, len: number): void {
    c.chain.packets++; // not countPacket: see the rule counters in runTable
    c.chain.bytes += len;
    this.watch.observer?.chainCounted(c, len);
  }

  /** Walk a built-in chain of a table. `manip` is set for the nat table (which NAT targets are valid). */
  private runTable(
    slot: number,
    pkt: PacketBuffer,
    l3: number,
    trace: TraceRecorder | undefined,
    manip: ManipType = MANIP_DST,
  ): NfVerdict {
    const start = this.builtins[slot];
    if (!start || (start.rules.length === 0 && start.chain.policy !== 'DROP')) {
      if (start) this.countPolicy(start, readU16(pkt.data, l3 + 2));
      return NF_ACCEPT;
    }
    const rec = this.watch.observer;
    const b = pkt.data;
    this.pSrc = readI32(b, l3 + 12);
    this.pDst = readI32(b, l3 + 16);
    this.pProto = b[l3 + 9]!;
    this.pL4 = l3 + ((b[l3]! & 0x0f) << 2);
    this.pLen = readU16(b, l3 + 2);
    const fragment = (readU16(b, l3 + 6) & 0x1fff) !== 0;

    let depth = 0;
    let chain = start;
    let list = this.candidates(chain);
    let i = 0;
    for (;;) {
      if (i >= list.length) {
        // End of chain: built-in -> policy; user chain -> return to the caller.
        if (depth === 0) {
          const c = start.chain;
          this.countPolicy(start, this.pLen);
          if (c.policy === 'DROP') {
            const tableName = start.table,
              chainName = c.name;
            this.last = null;
            this.lastReason = `-t ${tableName} ${chainName} policy DROP`;
            if (trace)
              trace.add(
                'netfilter',
                `${tableName} ${chainName}: policy DROP`,
                { table: tableName, chain: chainName },
                this.node,
              );
            return NF_DROP;
          }
          return NF_ACCEPT;
        }
        depth--;
        chain = this.stackChain[depth]!;
        list = this.stackList[depth]!;
        i = this.stackPos[depth]!;
        continue;
      }
      const r = list[i++]!;
      if (!this.matches(r, pkt, fragment)) continue;
      // Counted here rather than through countPacket, which only fast-path replays call: its inline caches then
      // see the few rule shapes of recorded paths, not every rule the slow path evaluates (megamorphic, ~30% slower).
      if (r.owner === null) {
        r.rule.packets++;
        r.rule.bytes += this.pLen;
        if (rec !== null) rec.ruleCounted(r, this.pLen);
      } else {
        const own = this.ownRule(r);
        own.countPacket(this.pLen);
        if (rec !== null) rec.ruleCounted(own, this.pLen);
      }
      const t = r.target;
      if (t === T_NONE) continue;
      if (trace && t !== T_RETURN)
        trace.add('netfilter', `${r.table}: ${r.text}`, { table: r.table, chain: r.chain }, this.node);
      switch (t) {
        case T_ACCEPT:
          return NF_ACCEPT;
        case T_DROP:
          this.last = r;
          return NF_DROP;
        case T_REJECT:
          this.last = r;
          return NF_REJECT;
        case T_RETURN:
          if (depth === 0) {
            i = list.length; // policy
            continue;
          }
          depth--;
          chain = this.stackChain[depth]!;
          list = this.stackList[depth]!;
          i = this.stackPos[depth]!;
          continue;
        case T_JUMP:
        case T_GOTO:
          if (t === T_JUMP) {
            if (depth >= MAX_DEPTH) {
              this.lastReason = `iptables: jump depth over ${MAX_DEPTH} at ${r.text}`;
              return NF_DROP;
            }
            this.stackChain[depth] = chain;
            this.stackList[depth] = list;
            this.stackPos[depth] = i;
            depth++;
          }
          chain = r.jumpTo!;
          list = this.candidates(chain);
          i = 0;
          continue;
        case T_MARK:
          pkt.pktMark = ((pkt.pktMark & ~r.markMask) ^ r.markValue) >>> 0;
          continue;
        case T_NOTRACK:
          this.conntrack.untrack(pkt);
          continue;
        case T_DNAT:
        case T_SNAT:
        case T_MASQ:
          this.natTarget(r, pkt, manip, trace);
          return NF_ACCEPT;
      }
    }
  }

  /** The rule of a shared chain whose counters are this netfilter's: its copy of the chain, made on first use. */
  private ownRule(r: CRule): OwnedRule {
    const owner = r.owner!;
    let rules = this.owned.get(owner);
    if (rules === undefined) {
      const c = owner.chain;
      const copy = copyChain(c);
      this.ruleset.tables.get(r.table)!.chains.set(c.name, copy);
      this.owned.set(owner, (rules = copy.rules.map((x) => new OwnedRule(x))));
    }
    return rules[r.index]!;
  }

  private candidates(c: CChain): CRule[] {
    return c.byDst ? (c.byDst.get(this.pDst) ?? c.others) : c.rules;
  }

  private natTarget(r: CRule, pkt: PacketBuffer, manip: ManipType, trace: TraceRecorder | undefined): void {
    const e = pkt.ctEntry as ConntrackEntry | null;
    if (!e || e.untracked || e.confirmed) return;
    const wantManip = r.target === T_DNAT ? MANIP_DST : MANIP_SRC;
    if (wantManip !== manip || natInitialized(e, manip)) return;
    const range = r.range!;
    if (r.target === T_MASQ) {
      // MASQUERADE: the primary address of the outgoing interface (inet_select_addr).
      const ip = this.ifAddrs.get(this.outIf);
      if (ip === undefined) {
        if (trace)
          trace.add(
            'warn',
            `MASQUERADE: ${this.outIf || '(no interface)'} has no address; not NATed`,
            undefined,
            this.node,
          );
        return;
      }
      range.minIp = range.maxIp = ip;
    }
    this.watch.observer?.veto('NAT binding set up');
    setupNat(this.conntrack, e, manip, range, this.random);
  }

  private matches(r: CRule, pkt: PacketBuffer, fragment: boolean): boolean {
    if (r.hasSrc && ((this.pSrc & r.srcMask) === r.srcNet) === r.srcInv) return false;
    if (r.hasDst && ((this.pDst & r.dstMask) === r.dstNet) === r.dstInv) return false;
    if (
      r.inIf !== null &&
      (r.inPrefix ? this.inIf !== '' && this.inIf.startsWith(r.inIf) : this.inIf === r.inIf) === r.inInv
    )
      return false;
    if (
      r.outIf !== null &&
      (r.outPrefix ? this.outIf !== '' && this.outIf.startsWith(r.outIf) : this.outIf === r.outIf) === r.outInv
    )
      return false;
    if (r.proto >= 0 && (this.pProto === r.proto) === r.protoInv) return false;
    const ms = r.matches;
    for (let k = 0; k < ms.length; k++) if (!this.match(ms[k]!, pkt, fragment)) return false;
    return true;
  }

  private match(m: CMatch, pkt: PacketBuffer, fragment: boolean): boolean {
    const b = pkt.data;
    switch (m.kind) {
      case M_TCP:
      case M_UDP: {
        if (fragment || this.pProto !== (m.kind === M_TCP ? PROTO_TCP : PROTO_UDP)) return false;
        const l4 = this.pL4;
        if (m.hasSport) {
          const p = readU16(b, l4);
          if ((p >= m.a && p <= m.b) === m.sportInv) return false;
        }
        if (m.c >= 0) {
          const p = readU16(b, l4 + 2);
          if ((p >= m.c && p <= m.d) === m.dportInv) return false;
        }
        if (m.hasFlags && ((b[l4 + 13]! & m.flagsMask) === m.flagsComp) === m.flagsInv) return false;
        return true;
      }
      case M_ICMP: {
        if (fragment || this.pProto !== PROTO_ICMP) return false;
        const ok = b[this.pL4] === m.a && (m.b < 0 || b[this.pL4 + 1] === m.b);
        return ok !== m.inv;
      }
      case M_MARK:
        return ((pkt.pktMark & m.b) >>> 0 === m.a) !== m.inv;
      case M_CONNTRACK:
        return ((ctStateBits(pkt) & m.a) !== 0) !== m.inv;
      case M_COMMENT:
        return true;
      case M_STATISTIC:
        this.watch.observer?.veto('random choice (statistic match)');
        // xt_statistic: (get_random_u32() & 0x7FFFFFFF) < probability
        return (this.random.nextU32() & 0x7fffffff) < m.a !== m.inv;
      case M_ADDRTYPE:
        if (m.srcLocal && this.isLocal(this.pSrc) !== (m.srcLocal === 1)) return false;
        if (m.dstLocal && this.isLocal(this.pDst) !== (m.dstLocal === 1)) return false;
        return true;
    }
    return false;
  }

  /** `a` as int32. */
  private isLocal(a: number): boolean {
    return a >>> 24 === 127 || this.local.has(a);
  }
}

/** xt_conntrack state bits of a packet. */
function ctStateBits(pkt: PacketBuffer): number {
  const e = pkt.ctEntry as ConntrackEntry | null;
  if (e === UNTRACKED) return CTSTATE_UNTRACKED;
  const st = pkt.ctState;
  if (!e || st & CT_INV) return CTSTATE_INVALID;
  let bits =
    st & CT_REL ? CTSTATE_RELATED : st & CT_NEW ? CTSTATE_NEW : st & CT_EST ? CTSTATE_ESTABLISHED : CTSTATE_INVALID;
  if (e.status & IPS_SRC_NAT) bits |= CTSTATE_SNAT;
  if (e.status & IPS_DST_NAT) bits |= CTSTATE_DNAT;
  return bits;
}
