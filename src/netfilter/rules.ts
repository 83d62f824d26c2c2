/**
 * iptables as data: tables, chains, rules, matches and targets, in the shapes iptables-save prints them. A Ruleset
 * is what `iptables-save` shows for one network namespace; compile.ts compiles it, evaluate.ts runs it,
 * iptables-save.ts prints it and iptables-restore.ts parses it.
 */

import type { Ipv4Cidr } from '../../codecs/bytes.js';

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter';
export type BuiltinChain = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** Built-in chains of each table, in the order iptables-save prints them (hook order). */
export const BUILTIN_CHAINS: Record<TableName, readonly BuiltinChain[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** Order iptables-nft-save prints tables in (its table list: mangle, raw, filter, nat). */
export const TABLE_ORDER: readonly TableName[] = ['mangle', 'raw', 'filter', 'nat'];

/** conntrack --ctstate bits (xt_conntrack). */
export const CTSTATE_INVALID = 1;
export const CTSTATE_NEW = 2;
export const CTSTATE_RELATED = 4;
export const CTSTATE_ESTABLISHED = 8;
export const CTSTATE_UNTRACKED = 16;
export const CTSTATE_SNAT = 32;
export const CTSTATE_DNAT = 64;
/** Names in the order libxt_conntrack prints them. */
export const CTSTATE_NAMES: readonly [number, string][] = [
  [CTSTATE_INVALID, 'INVALID'],
  [CTSTATE_NEW, 'NEW'],
  [CTSTATE_RELATED, 'RELATED'],
  [CTSTATE_ESTABLISHED, 'ESTABLISHED'],
  [CTSTATE_UNTRACKED, 'UNTRACKED'],
  [CTSTATE_SNAT, 'SNAT'],
  [CTSTATE_DNAT, 'DNAT'],
];

/** Protocol names iptables-save prints for -p and iptables-restore accepts; other protocols print as numbers. */
export const PROTOCOL_NAMES: readonly [number, string][] = [
  [1, 'icmp'],
  [6, 'tcp'],
  [17, 'udp'],
  [47, 'gre'],
  [50, 'esp'],
  [51, 'ah'],
  [132, 'sctp'],
];

/** --tcp-flags names in the order libxt_tcp prints them. */
export const TCP_FLAG_NAMES: readonly [number, string][] = [
  [0x01, 'FIN'],
  [0x02, 'SYN'],
  [0x04, 'RST'],
  [0x08, 'PSH'],
  [0x10, 'ACK'],
  [0x20, 'URG'],
];

/** A port or port range; `lo === hi` for one port. */
export interface PortRange {
  lo: number;
  hi: number;
}

export type Match =
  /** -m tcp / -m udp: ports and (tcp) --tcp-flags mask comp. */
  | {
      kind: 'tcp' | 'udp';
      sport?: PortRange;
      sportInvert?: boolean;
      dport?: PortRange;
      dportInvert?: boolean;
      tcpFlags?: { mask: number; comp: number; invert?: boolean };
    }
  /** -m icmp --icmp-type type[/code]. */
  | { kind: 'icmp'; type: number; code?: number; invert?: boolean }
  /** -m mark [!] --mark value[/mask] (mask 0xffffffff when not given). */
  | { kind: 'mark'; value: number; mask: number; invert?: boolean }
  /** -m conntrack [!] --ctstate LIST (CTSTATE_* bits). */
  | { kind: 'conntrack'; states: number; invert?: boolean }
  | { kind: 'comment'; comment: string }
  /** -m statistic --mode random --probability p; stored as the kernel does: round(p * 2^31). */
  | { kind: 'statistic'; probability: number; invert?: boolean }
  /** -m addrtype --dst-type/--src-type LOCAL (the only type modelled). */
  | { kind: 'addrtype'; srcType?: 'LOCAL'; srcInvert?: boolean; dstType?: 'LOCAL'; dstInvert?: boolean };

export type Target =
  | { kind: 'ACCEPT' | 'DROP' | 'RETURN' }
  | { kind: 'REJECT'; rejectWith: string }
  /** -j CHAIN (jump) or -g CHAIN (goto). */
  | { kind: 'jump' | 'goto'; chain: string }
  /** DNAT --to-destination ip[:port[-port]]. */
  | { kind: 'DNAT'; ip: number; portMin?: number; portMax?: number }
  | { kind: 'SNAT'; ip: number; portMin?: number; portMax?: number; randomFully?: boolean }
  | { kind: 'MASQUERADE'; portMin?: number; portMax?: number; randomFully?: boolean }
  /** MARK --set-xmark value/mask: mark = (mark & ~mask) ^ value. */
  | { kind: 'MARK'; value: number; mask: number }
  /** NOTRACK (iptables-save prints `-j NOTRACK`); CT --notrack is parsed to the same. */
  | { kind: 'NOTRACK' };

export interface Rule {
  src?: Ipv4Cidr;
  srcInvert?: boolean;
  dst?: Ipv4Cidr;
  dstInvert?: boolean;
  /** Interface names; a trailing `+` matches any name with that prefix. */
  inIface?: string;
  inIfaceInvert?: boolean;
  outIface?: string;
  outIfaceInvert?: boolean;
  /** IP protocol number (6, 17, 1, ...). */
  protocol?: number;
  protocolInvert?: boolean;
  /** Matches in the order given (iptables prints them in that order). */
  matches: Match[];
  /** Absent: a rule that only counts. */
  target?: Target;
  packets: number;
  bytes: number;
}

export interface Chain {
  name: string;
  /** Built-in chains have a policy; user chains have none (printed `-`). */
  policy?: 'ACCEPT' | 'DROP';
  rules: Rule[];
  /** Policy counters (packets/bytes that fell off the end of a built-in chain). */
  packets: number;
  bytes: number;
}

export interface Table {
  name: TableName;
  chains: Map<string, Chain>;
}

/** What `iptables-save` shows for one network namespace. */
export interface Ruleset {
  tables: Map<TableName, Table>;
}

/** A rule with defaults filled in. */
export function rule(r: Partial<Rule> & { target?: Target }): Rule {
  return { matches: [], packets: 0, bytes: 0, ...r };
}

export function emptyRuleset(): Ruleset {
  return { tables: new Map() };
}

/** The table, created with its built-in chains (policy ACCEPT) when missing. */
export function ensureTable(rs: Ruleset, name: TableName): Table {
  let t = rs.tables.get(name);
  if (!t) {
    t = { name, chains: new Map() };
    for (const c of BUILTIN_CHAINS[name])
      t.chains.set(c, { name: c, policy: 'ACCEPT', rules: [], packets: 0, bytes: 0 });
    rs.tables.set(name, t);
  }
  return t;
}

/** The chain, created (as a user chain) when missing. */
export function ensureChain(rs: Ruleset, table: TableName, name: string): Chain {
  const t = ensureTable(rs, table);
  let c = t.chains.get(name);
  if (!c) {
    c = { name, rules: [], packets: 0, bytes: 0 };
    t.chains.set(name, c);
  }
  return c;
}

/** iptables -A. */
export function appendRule(rs: Ruleset, table: TableName, chain: string, r: Rule): void {
  ensureChain(rs, table, chain).rules.push(r);
}

/** iptables -I (at the top). */
export function insertRule(rs: Ruleset, table: TableName, chain: string, r: Rule): void {
  ensureChain(rs, table, chain).rules.unshift(r);
}

/** Kernel statistic match value for a probability (libxt_statistic: lround(0x80000000 * p)). */
export function probabilityToKernel(p: number): number {
  return Math.round(0x80000000 * p);
}
