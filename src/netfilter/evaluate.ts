/**
 * A node's netfilter: the iptables tables of a Ruleset evaluated at the five hooks in the kernel's order, with
 * conntrack and NAT.
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
 * Rules are compiled once into flat objects (no strings or allocation per packet); long chains whose rules mostly
 * match one destination address (KUBE-SERVICES) get an index by destination, keeping rule order. With a
 * TraceRecorder the walk records each deciding rule as iptables-save text (precomputed), conntrack and NAT steps.
 */

import { ipv4ToString, readU16, readU32 } from '../../codecs/bytes.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { CT_DNAT, CT_EST, CT_INV, CT_NEW, CT_REL, CT_RPL, CT_SNAT, CT_TRK } from '../buffer/packet-buffer.js';
import { NF_ACCEPT, NF_DROP, NF_REJECT, type NetfilterHooks, type NfVerdict } from '../runtime/netfilter-hooks.js';
import type { TraceRecorder } from '../trace/types.js';
import { ConfigVersion } from '../path-observer/config-version.js';
import type { Counted } from '../path-observer/counted.js';
import { PathWatch } from '../path-observer/path-watch.js';
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
import { ruleText } from './iptables-save.js';
import {
  icmpErrorTranslate,
  MANIP_DST,
  MANIP_SRC,
  natInitialized,
  natPacket,
  setNullBinding,
  setupNat,
  type ManipType,
  type NatRange,
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
  type Chain,
  type Match,
  type Rule,
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

/** OVS `ct()` arguments the bridge passes (structurally compatible with ovs/bridge.ts CtRequest). */
export interface OvsCtArgs {
  commit?: boolean;
  nat?: boolean;
  zone?: number;
  /** ct(commit,nat(src=...|dst=...)): set up a binding on a new connection. */
  natSpec?: {
    kind?: 'src' | 'dst';
    addrMin?: number;
    addrMax?: number;
    portMin?: number;
    portMax?: number;
    flags?: string[];
  };
  /** ct(commit,exec(set_field:V->ct_mark)). */
  mark?: number;
}

// Compiled target kinds.
const T_NONE = 0,
  T_ACCEPT = 1,
  T_DROP = 2,
  T_REJECT = 3,
  T_RETURN = 4,
  T_JUMP = 5,
  T_GOTO = 6,
  T_DNAT = 7,
  T_SNAT = 8,
  T_MASQ = 9,
  T_MARK = 10,
  T_NOTRACK = 11;
// Compiled match kinds.
const M_TCP = 0,
  M_UDP = 1,
  M_ICMP = 2,
  M_MARK = 3,
  M_CONNTRACK = 4,
  M_COMMENT = 5,
  M_STATISTIC = 6,
  M_ADDRTYPE = 7;

const MAX_DEPTH = 64;

class CMatch {
  kind: number;
  inv = false;
  a = 0; // tcp/udp: sport lo | icmp type | mark value | ctstates | probability
  b = 0; // sport hi | icmp code (-1 any) | mark mask
  c = -1; // dport lo (-1 none)
  d = 0; // dport hi
  hasSport = false;
  sportInv = false;
  dportInv = false;
  flagsMask = 0;
  flagsComp = 0;
  flagsInv = false;
  hasFlags = false;
  srcLocal = 0; // addrtype: 0 none, 1 match, 2 inverted
  dstLocal = 0;

  constructor(m: Match) {
    switch (m.kind) {
      case 'tcp':
      case 'udp':
        this.kind = m.kind === 'tcp' ? M_TCP : M_UDP;
        if (m.sport) {
          this.hasSport = true;
          this.a = m.sport.lo;
          this.b = m.sport.hi;
          this.sportInv = !!m.sportInvert;
        }
        if (m.dport) {
          this.c = m.dport.lo;
          this.d = m.dport.hi;
          this.dportInv = !!m.dportInvert;
        }
        if (m.kind === 'tcp' && m.tcpFlags) {
          this.hasFlags = true;
          this.flagsMask = m.tcpFlags.mask;
          this.flagsComp = m.tcpFlags.comp;
          this.flagsInv = !!m.tcpFlags.invert;
        }
        break;
      case 'icmp':
        this.kind = M_ICMP;
        this.a = m.type;
        this.b = m.code ?? -1;
        this.inv = !!m.invert;
        break;
      case 'mark':
        this.kind = M_MARK;
        this.a = m.value >>> 0;
        this.b = m.mask >>> 0;
        this.inv = !!m.invert;
        break;
      case 'conntrack':
        this.kind = M_CONNTRACK;
        this.a = m.states;
        this.inv = !!m.invert;
        break;
      case 'comment':
        this.kind = M_COMMENT;
        break;
      case 'statistic':
        this.kind = M_STATISTIC;
        this.a = m.probability;
        this.inv = !!m.invert;
        break;
      case 'addrtype':
        this.kind = M_ADDRTYPE;
        if (m.srcType) this.srcLocal = m.srcInvert ? 2 : 1;
        if (m.dstType) this.dstLocal = m.dstInvert ? 2 : 1;
        break;
    }
  }
}

class CRule implements Counted {
  // Networks and masks as int32, as the packet's addresses are read (no heap numbers per packet).
  hasSrc = false;
  srcNet = 0;
  srcMask = 0;
  srcInv = false;
  hasDst = false;
  dstNet = 0;
  dstMask = 0;
  dstInv = false;
  inIf: string | null = null;
  inPrefix = false;
  inInv = false;
  outIf: string | null = null;
  outPrefix = false;
  outInv = false;
  proto = -1;
  protoInv = false;
  matches: CMatch[];
  target = T_NONE;
  jumpTo: CChain | null = null;
  range: NatRange | null = null;
  natIp = 0;
  markValue = 0;
  markMask = 0;
  /** In a SharedChains chain: that chain and the rule's index in it (its counters are each netfilter's own). */
  owner: CChain | null = null;
  index = 0;
  private textCache: string | undefined;

  /** The rule matched a packet of `bytes` bytes (its iptables -v counters): a fast-path replay's count. */
  countPacket(bytes: number): void {
    this.rule.packets++;
    this.rule.bytes += bytes;
  }

  constructor(
    readonly chain: string,
    readonly table: TableName,
    readonly rule: Rule,
    chains: Map<string, CChain>,
  ) {
    const r = rule;
    if (r.src) {
      this.hasSrc = true;
      this.srcNet = r.src.network | 0;
      this.srcMask = r.src.mask | 0;
      this.srcInv = !!r.srcInvert;
    }
    if (r.dst) {
      this.hasDst = true;
      this.dstNet = r.dst.network | 0;
      this.dstMask = r.dst.mask | 0;
      this.dstInv = !!r.dstInvert;
    }
    if (r.inIface !== undefined) {
      [this.inIf, this.inPrefix] = ifName(r.inIface);
      this.inInv = !!r.inIfaceInvert;
    }
    if (r.outIface !== undefined) {
      [this.outIf, this.outPrefix] = ifName(r.outIface);
      this.outInv = !!r.outIfaceInvert;
    }
    if (r.protocol !== undefined) {
      this.proto = r.protocol;
      this.protoInv = !!r.protocolInvert;
    }
    this.matches = r.matches.filter((m) => m.kind !== 'comment').map((m) => new CMatch(m));
    const t = r.target;
    if (!t) return;
    switch (t.kind) {
      case 'ACCEPT':
        this.target = T_ACCEPT;
        break;
      case 'DROP':
        this.target = T_DROP;
        break;
      case 'REJECT':
        this.target = T_REJECT;
        break;
      case 'RETURN':
        this.target = T_RETURN;
        break;
      case 'NOTRACK':
        this.target = T_NOTRACK;
        break;
      case 'jump':
      case 'goto': {
        const c = chains.get(t.chain);
        if (!c) throw new Error(`iptables: -t ${table} -A ${chain}: chain ${t.chain} does not exist`);
        if (c.builtin) throw new Error(`iptables: -t ${table} -A ${chain}: cannot jump to built-in chain ${t.chain}`);
        this.target = t.kind === 'jump' ? T_JUMP : T_GOTO;
        this.jumpTo = c;
        break;
      }
      case 'DNAT':
      case 'SNAT': {
        this.target = t.kind === 'DNAT' ? T_DNAT : T_SNAT;
        const ports = t.portMin !== undefined;
        this.range = {
          minIp: t.ip >>> 0,
          maxIp: t.ip >>> 0,
          protoSpecified: ports,
          minPort: t.portMin ?? 0,
          maxPort: t.portMax ?? t.portMin ?? 0,
          randomFully: t.kind === 'SNAT' && !!t.randomFully,
        };
        break;
      }
      case 'MASQUERADE': {
        this.target = T_MASQ;
        const ports = t.portMin !== undefined;
        this.range = {
          minIp: 0,
          maxIp: 0,
          protoSpecified: ports,
          minPort: t.portMin ?? 0,
          maxPort: t.portMax ?? t.portMin ?? 0,
          randomFully: !!t.randomFully,
        };
        break;
      }
      case 'MARK':
        this.target = T_MARK;
        this.markValue = t.value >>> 0;
        this.markMask = t.mask >>> 0;
        break;
    }
  }

  /** The rule as iptables-save prints it (built on first use; only traces and drop reasons ask). */
  get text(): string {
    return (this.textCache ??= ruleText(this.chain, this.rule));
  }
}

function ifName(s: string): [string, boolean] {
  return s.endsWith('+') ? [s.slice(0, -1), true] : [s, false];
}

class CChain implements Counted {
  rules: CRule[] = [];
  /** Rules to try per exact destination (KUBE-SERVICES-style chains); `others` for any other destination. */
  byDst: Map<number, CRule[]> | null = null;
  others: CRule[] = [];
  constructor(
    readonly chain: Chain,
    readonly builtin: boolean,
    readonly table: TableName,
  ) {}

  /** A packet fell off the end of the chain (its policy counters). */
  countPacket(bytes: number): void {
    this.chain.packets++;
    this.chain.bytes += bytes;
  }

  buildIndex(): void {
    this.others = this.rules;
    const keyed = this.rules.filter((r) => r.hasDst && !r.dstInv && r.dstMask === -1).length;
    if (this.rules.length < 16 || keyed * 2 < this.rules.length) return;
    const byDst = new Map<number, CRule[]>();
    const others: CRule[] = [];
    for (const r of this.rules) {
      if (r.hasDst && !r.dstInv && r.dstMask === -1) {
        let list = byDst.get(r.dstNet);
        if (!list) byDst.set(r.dstNet, (list = others.slice()));
        list.push(r);
      } else {
        others.push(r);
        for (const list of byDst.values()) list.push(r);
      }
    }
    this.byDst = byDst;
    this.others = others;
  }
}

class CTable {
  chains = new Map<string, CChain>();
  constructor(readonly name: TableName) {}
}

/**
 * User chains compiled once and evaluated by many netfilters: kube-proxy's chains are the same on every node of a
 * cluster (hundreds of thousands of rules on a big one), so each node's Ruleset holds the very same Chain objects
 * and each Netfilter reuses these compiled chains instead of compiling its own. Counters stay per netfilter: the
 * first match in a shared chain gives that netfilter's Ruleset its own copy of the chain (Netfilter.ownRule), so
 * the shared Rule objects always read [0:0]. A chain here may only jump to chains here.
 */
export class SharedChains {
  /** Compiled chains by table and name. */
  readonly tables = new Map<TableName, Map<string, CChain>>();

  constructor(readonly ruleset: Ruleset) {
    for (const [name, t] of ruleset.tables) {
      const chains = new Map<string, CChain>();
      for (const c of t.chains.values()) if (c.policy === undefined) chains.set(c.name, new CChain(c, false, name));
      for (const c of chains.values()) {
        c.rules = c.chain.rules.map((r, i) => {
          const cr = new CRule(c.chain.name, name, r, chains);
          cr.owner = c;
          cr.index = i;
          return cr;
        });
        c.buildIndex();
      }
      this.tables.set(name, chains);
    }
  }
}

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
  private readonly now: () => number;
  private readonly node: string | undefined;
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
  private readonly watch: PathWatch;

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

  /**
   * OVS `ct([commit][,nat][,zone=N])` in this node's conntrack: track (or reuse the entry the kernel attached, as
   * skb_nfct_cached does), with `nat` apply the connection's existing binding in the packet's direction (un-DNAT
   * replies, both manips when the connection has SNAT and DNAT; a NEW connection is not NATed), with `commit`
   * confirm the entry. Sets pkt.ctState/ctZone. Returns NF_DROP when commit fails (insert clash) or the table is full.
   */
  ovsCt(pkt: PacketBuffer, l3: number, args: OvsCtArgs, trace?: TraceRecorder): NfVerdict {
    const zone = args.zone ?? 0;
    const e0 = pkt.ctEntry as ConntrackEntry | null;
    if (e0 && (e0.untracked || e0.zone === zone)) {
      if (!(pkt.ctState & CT_TRK)) pkt.ctState = this.conntrack.stateOfAttached(pkt, l3);
      if (trace)
        trace.add(
          'ct',
          `ct(zone=${zone}): cached entry ${ctStateText(pkt.ctState)}`,
          { zone, state: ctStateText(pkt.ctState) },
          this.node,
        );
    } else if (!this.track(pkt, l3, true, trace, zone)) {
      return NF_DROP;
    }
    const e = pkt.ctEntry as ConntrackEntry | null;
    const st = pkt.ctState;
    const spec = args.natSpec;
    if (args.nat && spec?.kind && args.commit && e && !e.untracked && !e.confirmed && spec.addrMin !== undefined) {
      // A new connection with an explicit range: bind it (nf_nat_setup_info) and translate this packet.
      const manip = spec.kind === 'src' ? MANIP_SRC : MANIP_DST;
      if (!natInitialized(e, manip)) {
        const ports = spec.portMin !== undefined;
        this.watch.observer?.veto('NAT binding set up'); // changes the entry: the next packet walks differently
        setupNat(
          this.conntrack,
          e,
          manip,
          {
            minIp: spec.addrMin >>> 0,
            maxIp: (spec.addrMax ?? spec.addrMin) >>> 0,
            protoSpecified: ports,
            minPort: spec.portMin ?? 0,
            maxPort: spec.portMax ?? spec.portMin ?? 0,
            randomFully: spec.flags?.includes('random') ?? false,
          },
          this.random,
        );
      }
      this.applyBinding(pkt, l3, e, 0, manip, trace);
    } else if (
      args.nat &&
      e &&
      !e.untracked &&
      !(st & CT_NEW) &&
      e.status & (IPS_SRC_NAT | IPS_DST_NAT) &&
      (!(st & CT_REL) || st & CT_RPL || args.commit)
    ) {
      const dir = st & CT_RPL ? 1 : 0;
      const srcNat = (e.status & IPS_SRC_NAT) !== 0;
      const first: ManipType = dir === 1 ? (srcNat ? MANIP_DST : MANIP_SRC) : srcNat ? MANIP_SRC : MANIP_DST;
      this.applyBinding(pkt, l3, e, dir, first, trace);
      if (srcNat && e.status & IPS_DST_NAT)
        this.applyBinding(pkt, l3, e, dir, first === MANIP_SRC ? MANIP_DST : MANIP_SRC, trace);
    }
    if (args.commit && e && !e.untracked && args.mark !== undefined) {
      e.mark = args.mark >>> 0;
      pkt.ctMark = e.mark;
    }
    if (args.commit && e && !e.untracked && !e.confirmed) {
      if (!this.conntrack.confirm(pkt, this.now())) {
        this.lastReason = 'conntrack: insert failed (clash)';
        return NF_DROP;
      }
      if (trace) trace.add('ct', `ct(commit): confirmed ${ctEntryText(e)}`, undefined, this.node);
    }
    return NF_ACCEPT;
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

  private track(pkt: PacketBuffer, l3: number, checksum: boolean, trace: TraceRecorder | undefined, zone = 0): boolean {
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

  private applyBinding(
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
    const before = trace ? endpointText(b, l3, manip) : '';
    this.watch.observer?.nat(pkt, l3, e, dir, manip);
    if (natPacket(b, l3, pkt.end, e, dir, manip)) {
      pkt.ctState = (pkt.ctState & ~(CT_SNAT | CT_DNAT)) | natFlags(e.status);
      if (trace) {
        const what = dir === 0 ? (manip === MANIP_SRC ? 'SNAT' : 'DNAT') : manip === MANIP_SRC ? 'un-DNAT' : 'un-SNAT';
        const side = manip === MANIP_SRC ? 'source' : 'destination';
        trace.add(
          'nat',
          `${what}: ${side} ${before} -> ${endpointText(b, l3, manip)}`,
          { kind: what, before, after: endpointText(b, l3, manip) },
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

/** A chain with its own rule objects (their counters), sharing their matches and targets. */
function copyChain(c: Chain): Chain {
  return { ...c, rules: c.rules.map((r) => ({ ...r })) };
}

/** A netfilter's own copy of a shared rule: its iptables -v counters (see SharedChains). */
class OwnedRule implements Counted {
  constructor(readonly rule: Rule) {}

  countPacket(bytes: number): void {
    this.rule.packets++;
    this.rule.bytes += bytes;
  }
}

/** The big-endian 32-bit word at `o` as an int32. */
function readI32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
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

/** ct_state bits as OVS writes them in flows: `+trk+new`, `+trk+est+rpl+dnat` (cold path). */
export function ctStateText(st: number): string {
  if (!(st & CT_TRK)) return '-trk';
  let s = '+trk';
  if (st & CT_NEW) s += '+new';
  if (st & CT_EST) s += '+est';
  if (st & CT_REL) s += '+rel';
  if (st & CT_RPL) s += '+rpl';
  if (st & CT_INV) s += '+inv';
  if (st & CT_SNAT) s += '+snat';
  if (st & CT_DNAT) s += '+dnat';
  return s;
}

function ctEntryText(e: ConntrackEntry): string {
  const o = e.orig,
    r = e.reply;
  const proto =
    o.proto === PROTO_TCP ? 'tcp' : o.proto === PROTO_UDP ? 'udp' : o.proto === PROTO_ICMP ? 'icmp' : String(o.proto);
  const ep = (a: number, p: number): string =>
    o.proto === PROTO_TCP || o.proto === PROTO_UDP ? `${ipv4ToString(a)}:${p}` : ipv4ToString(a);
  return `${proto} ${ep(o.src, o.sport)} -> ${ep(o.dst, o.dport)}, reply ${ep(r.src, r.sport)} -> ${ep(r.dst, r.dport)}`;
}

/** `ip:port` (or `ip`) of the packet's source (MANIP_SRC) or destination (cold path). */
function endpointText(b: Uint8Array, l3: number, manip: ManipType): string {
  const proto = b[l3 + 9]!;
  const l4 = l3 + ((b[l3]! & 0x0f) << 2);
  const ip = ipv4ToString(readU32(b, l3 + (manip === MANIP_SRC ? 12 : 16)));
  if (proto === PROTO_TCP || proto === PROTO_UDP) return `${ip}:${readU16(b, l4 + (manip === MANIP_SRC ? 0 : 2))}`;
  return ip;
}

/** `src:port -> dst:port` of the packet at l3 (cold path). */
function addrText(b: Uint8Array, l3: number): string {
  const proto = b[l3 + 9]!;
  const l4 = l3 + ((b[l3]! & 0x0f) << 2);
  const src = ipv4ToString(readU32(b, l3 + 12));
  const dst = ipv4ToString(readU32(b, l3 + 16));
  if (proto === PROTO_TCP || proto === PROTO_UDP) return `${src}:${readU16(b, l4)} -> ${dst}:${readU16(b, l4 + 2)}`;
  return `${src} -> ${dst}`;
}
