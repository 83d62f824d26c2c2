/**
 * The rule compiler: a Ruleset's chains turned once into flat objects the walker (evaluate.ts) reads without strings
 * or allocation per packet, as the kernel's translate_table (net/ipv4/netfilter/ip_tables.c) checks and lays out
 * the blob iptables-restore hands it (jumps resolved to their chains, targets and matches to small kinds).
 *
 * Long chains whose rules mostly match one destination address (KUBE-SERVICES) get an index by destination,
 * keeping rule order. SharedChains compiles kube-proxy's chains once for every node of a cluster.
 */

import type { Counted } from '../path-observer/counted.js';
import { ruleText } from './iptables-save.js';
import { natRange, type NatRange } from './nat.js';
import type { Chain, Match, Rule, Ruleset, TableName } from './rules.js';

// Compiled target kinds.
export const T_NONE = 0,
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
export const M_TCP = 0,
  M_UDP = 1,
  M_ICMP = 2,
  M_MARK = 3,
  M_CONNTRACK = 4,
  M_COMMENT = 5,
  M_STATISTIC = 6,
  M_ADDRTYPE = 7;

/** One compiled match (-p tcp/udp --sport/--dport/--tcp-flags, icmp, mark, conntrack, statistic, addrtype). */
export class CMatch {
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

/** One compiled rule: addresses and masks as int32, interfaces, protocol, matches, the target resolved. */
export class CRule implements Counted {
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
        this.range = natRange(t.ip, t.ip, t.portMin, t.portMax, t.kind === 'SNAT' && !!t.randomFully);
        break;
      }
      case 'MASQUERADE': {
        this.target = T_MASQ; // the address: the outgoing interface's, set when a connection is bound (natTarget)
        this.range = natRange(0, 0, t.portMin, t.portMax, !!t.randomFully);
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

/** One compiled chain: its rules, and for long KUBE-SERVICES-style chains an index by destination address. */
export class CChain implements Counted {
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

/** The compiled chains of one table, by name. */
export class CTable {
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

/** A chain with its own rule objects (their counters), sharing their matches and targets. */
export function copyChain(c: Chain): Chain {
  return { ...c, rules: c.rules.map((r) => ({ ...r })) };
}

/** A netfilter's own copy of a shared rule: its iptables -v counters (see SharedChains). */
export class OwnedRule implements Counted {
  constructor(readonly rule: Rule) {}

  countPacket(bytes: number): void {
    this.rule.packets++;
    this.rule.bytes += bytes;
  }
}
