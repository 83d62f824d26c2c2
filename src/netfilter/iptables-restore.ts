/**
 * Parse iptables-save / iptables-restore text into a Ruleset, so users can paste a node's real rules. Accepts what
 * iptables-save prints plus the common shorthands iptables itself accepts (`-p tcp --dport 80` without `-m tcp`,
 * `--or-mark`, `--set-mark`, `-j CT --notrack`, bare addresses without /32), and normalises them the way iptables
 * stores them, so printing gives back iptables-save's text. Anything not modelled is an error naming the line.
 */

import { prefixMask, tryParseCidr, tryParseIpv4 } from '../../codecs/bytes.js';
import {
  BUILTIN_CHAINS,
  CTSTATE_NAMES,
  emptyRuleset,
  ensureChain,
  ensureTable,
  probabilityToKernel,
  PROTOCOL_NAMES,
  rule,
  TCP_FLAG_NAMES,
  type Match,
  type PortRange,
  type Rule,
  type Ruleset,
  type TableName,
  type Target,
} from './rules.js';

export class IptablesParseError extends Error {
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`iptables-restore: line ${line}: ${detail}`);
    this.name = 'IptablesParseError';
  }
}

const TABLES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];
const PROTOCOLS = new Map(PROTOCOL_NAMES.map(([p, name]): [string, number] => [name, p]));
const ICMP_TYPES: Record<string, number> = {
  'echo-reply': 0,
  'destination-unreachable': 3,
  'source-quench': 4,
  redirect: 5,
  'echo-request': 8,
  'time-exceeded': 11,
  'parameter-problem': 12,
};
const TCP_FLAGS = new Map([
  ...TCP_FLAG_NAMES.map(([bit, name]): [string, number] => [name, bit]),
  ['ALL', 0x3f],
  ['NONE', 0],
]);
const SIMPLE_TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN']);

/** Split a line into words; double quotes group, backslash escapes the next character (iptables-restore rules). */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quoted) throw new Error('unterminated quote');
  if (inWord) out.push(cur);
  return out;
}

/** Parse iptables-save text. Throws IptablesParseError with the line number on anything it cannot model. */
export function parseIptablesSave(text: string): Ruleset {
  const rs = emptyRuleset();
  let table: TableName | null = null;
  let tableLine = 0;
  const pendingJumps: { line: number; table: TableName; chain: string }[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fail = (msg: string): never => {
      throw new IptablesParseError(lineNo, msg);
    };
    if (line.startsWith('*')) {
      const name = line.slice(1) as TableName;
      if (!TABLES.includes(name)) fail(`unknown table "${line.slice(1)}"`);
      table = name;
      tableLine = lineNo;
      ensureTable(rs, name);
      continue;
    }
    if (line === 'COMMIT') {
      if (!table) fail('COMMIT outside a table');
      for (const j of pendingJumps.splice(0)) {
        if (!rs.tables.get(j.table)!.chains.has(j.chain))
          throw new IptablesParseError(j.line, `unknown target or chain "${j.chain}"`);
      }
      table = null;
      continue;
    }
    if (!table) fail('rule or chain outside a table (missing *table line)');
    const t: TableName = table!;
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?$/.exec(line);
      if (!m) fail(`malformed chain line "${line}"`);
      const [, name, policy, pk, by] = m!;
      const builtin = (BUILTIN_CHAINS[t] as readonly string[]).includes(name!);
      if (builtin && policy !== 'ACCEPT' && policy !== 'DROP') fail(`policy of ${name} must be ACCEPT or DROP`);
      if (!builtin && policy !== '-') fail(`user chain ${name} cannot have policy ${policy}`);
      const c = ensureChain(rs, t, name!);
      if (builtin) c.policy = policy as 'ACCEPT' | 'DROP';
      c.packets = Number(pk ?? 0);
      c.bytes = Number(by ?? 0);
      continue;
    }
    let words: string[];
    try {
      words = tokenize(line);
    } catch (e) {
      return fail((e as Error).message);
    }
    let packets = 0;
    let bytes = 0;
    const cm = /^\[(\d+):(\d+)\]$/.exec(words[0]!);
    if (cm) {
      packets = Number(cm[1]);
      bytes = Number(cm[2]);
      words.shift();
    }
    const cmd = words.shift();
    const chainName = words.shift();
    if (!chainName) fail('missing chain name');
    if (cmd === '-N' || cmd === '--new-chain') {
      ensureChain(rs, t, chainName!);
      continue;
    }
    if (cmd !== '-A' && cmd !== '--append' && cmd !== '-I' && cmd !== '--insert') fail(`unsupported command "${cmd}"`);
    const chain = rs.tables.get(t)!.chains.get(chainName!);
    if (!chain) fail(`chain "${chainName}" does not exist (declare it with :${chainName} - [0:0])`);
    let pos = -1;
    if ((cmd === '-I' || cmd === '--insert') && /^\d+$/.test(words[0] ?? '')) pos = Number(words.shift()) - 1;
    const r = parseRuleArgs(words, t, fail);
    r.packets = packets;
    r.bytes = bytes;
    if (r.target && r.target.kind === 'jump') pendingJumps.push({ line: lineNo, table: t, chain: r.target.chain });
    if (r.target && r.target.kind === 'goto') pendingJumps.push({ line: lineNo, table: t, chain: r.target.chain });
    if (cmd === '-A' || cmd === '--append') chain!.rules.push(r);
    else chain!.rules.splice(Math.max(pos, 0), 0, r);
  }
  if (table) throw new IptablesParseError(tableLine, `table ${table} has no COMMIT`);
  return rs;
}

function parsePorts(s: string, fail: (m: string) => never): PortRange {
  const m = /^(\d+)(?::(\d+))?$/.exec(s);
  if (!m) return fail(`bad port "${s}"`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535 || hi < lo) fail(`bad port range "${s}"`);
  return { lo, hi };
}

function parseNumber(s: string, fail: (m: string) => never): number {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(s)) fail(`bad number "${s}"`);
  const v = Number(s);
  if (v > 0xffffffff) fail(`number out of range "${s}"`);
  return v >>> 0;
}

function parseValueMask(s: string, fail: (m: string) => never): [number, number | undefined] {
  const slash = s.indexOf('/');
  if (slash < 0) return [parseNumber(s, fail), undefined];
  return [parseNumber(s.slice(0, slash), fail), parseNumber(s.slice(slash + 1), fail)];
}

function parseTcpFlags(s: string, fail: (m: string) => never): number {
  let v = 0;
  for (const f of s.split(',')) {
    const bit = TCP_FLAGS.get(f.toUpperCase());
    if (bit === undefined) fail(`unknown TCP flag "${f}"`);
    v |= bit!;
  }
  return v;
}

/** ip[:port[-port]] of --to-destination / --to-source. */
function parseNatTo(s: string, fail: (m: string) => never): { ip: number; portMin?: number; portMax?: number } {
  const m = /^([0-9.]+)(?::(\d+)(?:-(\d+))?)?$/.exec(s);
  const ip = m ? tryParseIpv4(m[1]!) : undefined;
  if (!m || ip === undefined)
    return fail(`cannot model NAT target "${s}" (one IPv4 address, optional port or port range)`);
  if (m[2] === undefined) return { ip };
  const portMin = Number(m[2]);
  const portMax = m[3] === undefined ? portMin : Number(m[3]);
  return portMax === portMin ? { ip, portMin } : { ip, portMin, portMax };
}

function parseRuleArgs(w: string[], table: TableName, fail: (m: string) => never): Rule {
  const r = rule({});
  let invert = false;
  let match: Match | null = null;
  let target: Target | null = null;
  const takeInvert = (): boolean => {
    const v = invert;
    invert = false;
    return v;
  };
  const next = (opt: string): string => {
    const v = w.shift();
    if (v === undefined) fail(`option ${opt} needs a value`);
    return v!;
  };
  const implicitMatch = (opt: string): Match => {
    // iptables loads the protocol's match when it meets one of its options (so it prints `-m tcp` there).
    if (match && (match.kind === 'tcp' || match.kind === 'udp' || match.kind === 'icmp')) return match;
    const p = r.protocol;
    const kind = p === 6 ? 'tcp' : p === 17 ? 'udp' : p === 1 ? 'icmp' : null;
    if (!kind) return fail(`option ${opt} needs -p tcp, -p udp or -p icmp`);
    const m: Match = kind === 'icmp' ? { kind, type: 0 } : { kind };
    r.matches.push(m);
    match = m;
    return m;
  };
  while (w.length) {
    const a = w.shift()!;
    if (a === '!') {
      invert = true;
      continue;
    }
    if (target) {
      parseTargetOption(a, target, next, fail);
      continue;
    }
    switch (a) {
      case '-s':
      case '--source':
      case '-d':
      case '--destination': {
        const v = next(a);
        const c = tryParseCidr(v.includes('/') ? v : `${v}/32`, true);
        if (!c) fail(`bad address "${v}"`);
        const masked = {
          network: (c!.network & prefixMask(c!.prefix)) >>> 0,
          prefix: c!.prefix,
          mask: prefixMask(c!.prefix),
        };
        if (a === '-s' || a === '--source') {
          r.src = masked;
          if (takeInvert()) r.srcInvert = true;
        } else {
          r.dst = masked;
          if (takeInvert()) r.dstInvert = true;
        }
        continue;
      }
      case '-i':
      case '--in-interface':
        r.inIface = next(a);
        if (takeInvert()) r.inIfaceInvert = true;
        continue;
      case '-o':
      case '--out-interface':
        r.outIface = next(a);
        if (takeInvert()) r.outIfaceInvert = true;
        continue;
      case '-p':
      case '--protocol': {
        const v = next(a).toLowerCase();
        if (v === 'all' || v === '0') continue;
        const p = PROTOCOLS.get(v) ?? (/^\d+$/.test(v) ? Number(v) : undefined);
        if (p === undefined || p > 255) fail(`unknown protocol "${v}"`);
        r.protocol = p;
        if (takeInvert()) r.protocolInvert = true;
        continue;
      }
      case '-m':
      case '--match': {
        const name = next(a);
        match = newMatch(name, fail);
        r.matches.push(match);
        continue;
      }
      case '-j':
      case '--jump': {
        target = newTarget(next(a), table, fail);
        continue;
      }
      case '-g':
      case '--goto':
        target = { kind: 'goto', chain: next(a) };
        continue;
    }
    if (!a.startsWith('--')) fail(`unexpected word "${a}"`);
    // A match option: the current -m, or the protocol's implicit match.
    const m: Match = isProtoOption(a) ? implicitMatch(a) : (match ?? fail(`option ${a} outside a match`));
    parseMatchOption(a, m, takeInvert(), next, fail);
  }
  if (invert) fail('dangling "!"');
  if (target) r.target = target;
  return r;
}

function isProtoOption(a: string): boolean {
  return (
    a === '--sport' ||
    a === '--dport' ||
    a === '--source-port' ||
    a === '--destination-port' ||
    a === '--syn' ||
    a === '--tcp-flags' ||
    a === '--icmp-type'
  );
}

function newMatch(name: string, fail: (m: string) => never): Match {
  switch (name) {
    case 'tcp':
    case 'udp':
      return { kind: name };
    case 'icmp':
      return { kind: 'icmp', type: 0 };
    case 'mark':
      return { kind: 'mark', value: 0, mask: 0xffffffff };
    case 'conntrack':
      return { kind: 'conntrack', states: 0 };
    case 'comment':
      return { kind: 'comment', comment: '' };
    case 'statistic':
      return { kind: 'statistic', probability: 0 };
    case 'addrtype':
      return { kind: 'addrtype' };
    default:
      return fail(`cannot model match "-m ${name}"`);
  }
}

function parseMatchOption(
  a: string,
  m: Match,
  inv: boolean,
  next: (o: string) => string,
  fail: (m: string) => never,
): void {
  switch (m.kind) {
    case 'tcp':
    case 'udp':
      if (a === '--sport' || a === '--source-port') {
        m.sport = parsePorts(next(a), fail);
        if (inv) m.sportInvert = true;
        return;
      }
      if (a === '--dport' || a === '--destination-port') {
        m.dport = parsePorts(next(a), fail);
        if (inv) m.dportInvert = true;
        return;
      }
      if (m.kind === 'tcp' && a === '--syn') {
        m.tcpFlags = { mask: 0x17, comp: 0x02 };
        if (inv) m.tcpFlags.invert = true;
        return;
      }
      if (m.kind === 'tcp' && a === '--tcp-flags') {
        const mask = parseTcpFlags(next(a), fail);
        m.tcpFlags = { mask, comp: parseTcpFlags(next(a), fail) };
        if (inv) m.tcpFlags.invert = true;
        return;
      }
      break;
    case 'icmp':
      if (a === '--icmp-type') {
        const v = next(a);
        const named = ICMP_TYPES[v];
        if (named !== undefined) m.type = named;
        else {
          const mm = /^(\d+)(?:\/(\d+))?$/.exec(v);
          if (!mm) fail(`cannot model icmp type "${v}"`);
          m.type = Number(mm![1]);
          if (mm![2] !== undefined) m.code = Number(mm![2]);
        }
        if (inv) m.invert = true;
        return;
      }
      break;
    case 'mark':
      if (a === '--mark') {
        const [v, mask] = parseValueMask(next(a), fail);
        m.value = v;
        m.mask = mask ?? 0xffffffff;
        if (inv) m.invert = true;
        return;
      }
      break;
    case 'conntrack':
      if (a === '--ctstate') {
        for (const s of next(a).split(',')) {
          const bit = CTSTATE_NAMES.find(([, n]) => n === s.toUpperCase());
          if (!bit) fail(`unknown ctstate "${s}"`);
          m.states |= bit![0];
        }
        if (inv) m.invert = true;
        return;
      }
      break;
    case 'comment':
      if (a === '--comment') {
        m.comment = next(a);
        return;
      }
      break;
    case 'statistic':
      if (a === '--mode') {
        const v = next(a);
        if (v !== 'random') fail(`cannot model statistic mode "${v}"`);
        return;
      }
      if (a === '--probability') {
        const p = Number(next(a));
        if (!(p >= 0 && p <= 1)) fail('probability must be between 0 and 1');
        m.probability = probabilityToKernel(p);
        if (inv) m.invert = true;
        return;
      }
      break;
    case 'addrtype':
      if (a === '--src-type' || a === '--dst-type') {
        const v = next(a);
        if (v !== 'LOCAL') fail(`cannot model address type "${v}" (only LOCAL)`);
        if (a === '--src-type') {
          m.srcType = 'LOCAL';
          if (inv) m.srcInvert = true;
        } else {
          m.dstType = 'LOCAL';
          if (inv) m.dstInvert = true;
        }
        return;
      }
      break;
  }
  fail(`cannot model option ${a} of -m ${m.kind}`);
}

function newTarget(name: string, table: TableName, fail: (m: string) => never): Target {
  if (SIMPLE_TARGETS.has(name)) return { kind: name as 'ACCEPT' | 'DROP' | 'RETURN' };
  switch (name) {
    case 'REJECT':
      return { kind: 'REJECT', rejectWith: 'icmp-port-unreachable' };
    case 'DNAT':
    case 'SNAT':
    case 'MASQUERADE':
      if (table !== 'nat') fail(`${name} is only valid in the nat table`);
      return name === 'DNAT'
        ? { kind: 'DNAT', ip: 0 }
        : name === 'SNAT'
          ? { kind: 'SNAT', ip: 0 }
          : { kind: 'MASQUERADE' };
    case 'MARK':
      return { kind: 'MARK', value: 0, mask: 0 };
    case 'NOTRACK':
    case 'CT':
      if (table !== 'raw') fail(`${name} is only valid in the raw table`);
      return { kind: 'NOTRACK' };
    case 'LOG':
    case 'TRACE':
    case 'CONNMARK':
    case 'TPROXY':
    case 'REDIRECT':
    case 'TCPMSS':
    case 'NFLOG':
      return fail(`cannot model target "${name}"`);
    default:
      // Anything else is a jump to a user chain; COMMIT checks that the chain exists.
      return { kind: 'jump', chain: name };
  }
}

function parseTargetOption(a: string, t: Target, next: (o: string) => string, fail: (m: string) => never): void {
  switch (t.kind) {
    case 'REJECT':
      if (a === '--reject-with') {
        t.rejectWith = next(a);
        return;
      }
      break;
    case 'DNAT':
      if (a === '--to-destination' || a === '--to') {
        Object.assign(t, parseNatTo(next(a), fail));
        return;
      }
      break;
    case 'SNAT':
      if (a === '--to-source' || a === '--to') {
        Object.assign(t, parseNatTo(next(a), fail));
        return;
      }
      if (a === '--random-fully') {
        t.randomFully = true;
        return;
      }
      break;
    case 'MASQUERADE':
      if (a === '--random-fully') {
        t.randomFully = true;
        return;
      }
      if (a === '--to-ports') {
        const p = parsePorts(next(a).replace('-', ':'), fail);
        t.portMin = p.lo;
        if (p.hi !== p.lo) t.portMax = p.hi;
        return;
      }
      break;
    case 'MARK': {
      const [v, m] =
        a === '--set-xmark' || a === '--set-mark' || a === '--or-mark' || a === '--and-mark' || a === '--xor-mark'
          ? parseValueMask(next(a), fail)
          : [0, undefined];
      // How libxt_MARK stores each form as (value, mask) with mark = (mark & ~mask) ^ value.
      if (a === '--set-xmark') {
        t.value = v;
        t.mask = m ?? 0xffffffff;
        return;
      }
      if (a === '--set-mark') {
        t.value = v;
        t.mask = ((m ?? 0xffffffff) | v) >>> 0;
        return;
      }
      if (a === '--or-mark') {
        t.value = v;
        t.mask = v;
        return;
      }
      if (a === '--and-mark') {
        t.value = 0;
        t.mask = ~v >>> 0;
        return;
      }
      if (a === '--xor-mark') {
        t.value = v;
        t.mask = 0;
        return;
      }
      break;
    }
    case 'NOTRACK':
      if (a === '--notrack') return;
      break;
    default:
      break;
  }
  fail(`cannot model target option ${a}${t.kind === 'jump' ? ` (jump to ${t.chain})` : ''}`);
}

/**
 * One rule from iptables command-line arguments (after `-A CHAIN`), e.g. the argument lists kube-proxy and
 * openshift-sdn build: `['-m', 'comment', '--comment', 'ns/svc:http cluster IP', '-p', 'tcp', '--dport', '80', ...]`.
 * Normalised exactly as iptables stores it. Throws on anything not modelled.
 */
export function ruleFromArgs(table: TableName, args: readonly string[]): Rule {
  return parseRuleArgs([...args], table, (msg) => {
    throw new Error(`iptables -t ${table}: ${msg} in: ${args.join(' ')}`);
  });
}
