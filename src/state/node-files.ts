/**
 * One node's dumps in a state directory, `nodes/<node>/`, read exactly as the real tools print them:
 *
 *   dump-flows.txt    ovs-ofctl -O OpenFlow13 dump-flows br0 (OVS 2.9..3.x: header line, cookie, duration,
 *                     counters, idle_age/hard_age, reset_counts, load:/set_field:/move: spellings)
 *   dump-groups.txt   ovs-ofctl -O OpenFlow13 dump-groups br0
 *   iptables-save.txt iptables-save -c (legacy or nft; warning and comment lines, counters)
 *   ip-route.json     ip -j route show table all
 *   ip-addr.json      ip -j addr
 *   conntrack.txt     conntrack -L
 *
 * A missing file is undefined (the caller uses what OpenShift SDN would program). A line that cannot be
 * understood is a StateFileError naming the file and line; a flow action or match field packetwalk does not
 * model is kept as an `unmodelled` action (listed in `unmodelled`), so a walk that reaches it says so.
 */

import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { tryParseCidr, tryParseIpv4, type Ipv4Address, type Ipv4Cidr } from '../../codecs/bytes.js';
import { formatFlowAdd, FlowParseError, parseFlow, type FlowSpec } from '../ovs/flow-text.js';
import { parseGroup, type GroupSpec } from '../ovs/groups.js';
import { IptablesParseError, parseIptablesSave } from '../netfilter/iptables-restore.js';
import type { Ruleset } from '../netfilter/rules.js';
import { parseConntrackList, type ConntrackLine } from './conntrack-text.js';
import { StateFileError } from './errors.js';

export const NODE_FILES = [
  'dump-flows.txt',
  'dump-groups.txt',
  'iptables-save.txt',
  'ip-route.json',
  'ip-addr.json',
  'conntrack.txt',
] as const;

/** A flow read from a dump, with its line for messages. */
export interface StateFlow {
  spec: FlowSpec;
  line: number;
}

/** One IPv4 route of `ip -j route show table all` (main table, unicast). */
export interface StateRoute {
  dst: Ipv4Cidr;
  via?: Ipv4Address;
  dev: string;
  src?: Ipv4Address;
  scope?: string;
  mtu?: number;
  /** `ip route` text, for messages. */
  text: string;
}

/** One interface of `ip -j addr`: IPv4 addresses only. */
export interface StateInterface {
  name: string;
  mtu: number;
  mac?: string;
  addrs: { ip: Ipv4Address; prefix: number; label?: string }[];
}

export interface NodeState {
  node: string;
  /** `nodes/<node>` relative to the state directory (for messages). */
  dir: string;
  flows?: StateFlow[];
  groups?: GroupSpec[];
  /**
   * The iptables-save file's rules, parsed when first read (so a bad line's StateFileError comes then); nodes
   * with the same rules share one (RulesetCache).
   */
  iptables?: Ruleset;
  /** With iptables: a key of its rules that nodes whose rules doctor compares alike share (orderFreeKey). */
  iptablesKey?: string;
  routes?: StateRoute[];
  interfaces?: StateInterface[];
  conntrack?: ConntrackLine[];
  /** Flows holding an action or match field packetwalk does not model (`table=.. actions=..` text). */
  unmodelled: string[];
  /** Files present. */
  files: string[];
}

function read(root: string, rel: string): string | undefined {
  const p = join(root, rel);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}

/**
 * A map that forgets what was not used lately: `age()` drops the entries neither got nor set since the `age()`
 * before. Called once per node, it keeps what every node has (the flows for the other nodes' subnets, tables 10,
 * 50 and 90) and lets a node's own pods' flows go: memory stays about two nodes' worth however big the cluster.
 */
export class RecentMap<V> {
  private cur = new Map<string, V>();
  private prev = new Map<string, V>();

  get(key: string): V | undefined {
    let v = this.cur.get(key);
    if (v === undefined) {
      v = this.prev.get(key);
      if (v !== undefined) this.cur.set(key, v);
    }
    return v;
  }

  set(key: string, v: V): void {
    this.cur.set(key, v);
  }

  age(): void {
    this.prev = this.cur;
    this.cur = new Map();
  }
}

/** dump-flows statistics (parseFlow ignores them, whatever their value), with the separators after them. */
const FLOW_STATS = /(?<=^|[\s,])(?:duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]*[,\s]*/g;

/**
 * A flow line without what does not change the flow it parses to: dump-flows statistics, surrounding spaces and a
 * zero cookie. A dump-flows line and the add-flow text packetwalk generates for the same flow then have the same
 * key (`table=90, priority=100,ip,nw_dst=10.128.2.0/23 actions=...`). Undefined for a line without `actions=`.
 */
export function flowKey(line: string): string | undefined {
  const a = line.indexOf('actions=');
  if (a < 0) return undefined;
  const k = (line.slice(0, a).replace(FLOW_STATS, '') + line.slice(a)).trim();
  return k.startsWith('cookie=0x0, ') ? k.slice(12) : k;
}

/**
 * Flows of a dump-flows text. With `parsed`, a line whose flowKey is that of one parsed before gets that line's
 * FlowSpec (shared: nothing changes a parsed FlowSpec): the nodes of a cluster have most of their flows in
 * common, and their dumps differ there only in counters and durations.
 */
export function parseDumpFlows(
  text: string,
  file: string,
  unmodelled: string[] = [],
  parsed?: RecentMap<FlowSpec>,
): StateFlow[] {
  const out: StateFlow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const t = line.trim();
    if (t === '' || t.startsWith('#') || /^(OFPST|NXST)_FLOW reply/.test(t)) continue;
    const key = parsed ? flowKey(line) : undefined;
    let spec = key === undefined ? undefined : parsed!.get(key);
    if (!spec) {
      try {
        spec = parseFlow(line, { line: i + 1, unmodelled: 'accept' });
      } catch (e) {
        if (e instanceof FlowParseError) throw new StateFileError(file, e.detail, e.line, e.column);
        throw e;
      }
      if (key !== undefined) parsed!.set(key, spec);
    }
    if (spec.actions.some((x) => x.type === 'unmodelled')) unmodelled.push(formatFlowAdd(spec));
    out.push({ spec, line: i + 1 });
  }
  return out;
}

/** Groups of a dump-groups text. */
export function parseDumpGroups(text: string, file: string): GroupSpec[] {
  const out: GroupSpec[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === '' || t.startsWith('#') || /^(OFPST|NXST)_GROUP(_DESC)? reply/.test(t)) continue;
    try {
      out.push(parseGroup(t, { line: i + 1 }));
    } catch (e) {
      if (e instanceof FlowParseError) throw new StateFileError(file, e.detail, e.line, e.column);
      throw e;
    }
  }
  return out;
}

/** iptables-save -c text (legacy or nft; `# Warning:` lines are comments). */
export function parseStateIptables(text: string, file: string): Ruleset {
  try {
    return parseIptablesSave(text);
  } catch (e) {
    if (e instanceof IptablesParseError) throw new StateFileError(file, e.detail, e.line);
    throw e;
  }
}

function jsonArray(text: string, file: string): Record<string, unknown>[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new StateFileError(file, `not JSON as 'ip -j' prints it: ${(e as Error).message}`);
  }
  if (!Array.isArray(v)) throw new StateFileError(file, "expected a JSON array (the output of 'ip -j ...')");
  return v.map((x, i) => {
    if (typeof x !== 'object' || x === null) throw new StateFileError(file, `[${i}]: expected an object`);
    return x as Record<string, unknown>;
  });
}

/** `ip -j route show table all`: IPv4 unicast routes of the main table (local/broadcast and IPv6 are skipped). */
export function parseIpRoutes(text: string, file: string): StateRoute[] {
  const out: StateRoute[] = [];
  jsonArray(text, file).forEach((r, i) => {
    const dstText = String(r.dst ?? '');
    if (dstText.includes(':')) return; // IPv6
    if (r.type !== undefined && r.type !== 'unicast') return;
    if (r.table !== undefined && r.table !== 'main') return;
    const dst =
      dstText === 'default'
        ? tryParseCidr('0.0.0.0/0')
        : tryParseCidr(dstText.includes('/') ? dstText : `${dstText}/32`);
    if (!dst) throw new StateFileError(file, `[${i}].dst: ${JSON.stringify(r.dst)} is not an IPv4 destination`);
    const via = r.gateway === undefined ? undefined : tryParseIpv4(String(r.gateway));
    if (r.gateway !== undefined && via === undefined)
      throw new StateFileError(file, `[${i}].gateway: ${JSON.stringify(r.gateway)} is not an IPv4 address`);
    if (typeof r.dev !== 'string') throw new StateFileError(file, `[${i}].dev: missing`);
    const src = r.prefsrc === undefined ? undefined : tryParseIpv4(String(r.prefsrc));
    const metrics = Array.isArray(r.metrics) ? (r.metrics as Record<string, unknown>[]) : [];
    const mtuEntry = metrics.find((m) => typeof m === 'object' && m !== null && 'mtu' in m);
    const mtu = mtuEntry ? Number(mtuEntry.mtu) : undefined;
    let t = `${dstText}${r.gateway !== undefined ? ` via ${r.gateway}` : ''} dev ${r.dev}`;
    if (r.protocol) t += ` proto ${r.protocol}`;
    if (r.scope) t += ` scope ${r.scope}`;
    if (r.prefsrc) t += ` src ${r.prefsrc}`;
    if (mtu !== undefined) t += ` mtu ${mtu}`;
    out.push({ dst, via, dev: r.dev, src, scope: typeof r.scope === 'string' ? r.scope : undefined, mtu, text: t });
  });
  return out;
}

/** `ip -j addr`: every interface with its IPv4 addresses. */
export function parseIpAddrs(text: string, file: string): StateInterface[] {
  return jsonArray(text, file).map((r, i) => {
    if (typeof r.ifname !== 'string') throw new StateFileError(file, `[${i}].ifname: missing`);
    const info = Array.isArray(r.addr_info) ? (r.addr_info as Record<string, unknown>[]) : [];
    const addrs = info
      .filter((a) => a.family === 'inet')
      .map((a, j) => {
        const ip = tryParseIpv4(String(a.local));
        if (ip === undefined)
          throw new StateFileError(
            file,
            `[${i}].addr_info[${j}].local: ${JSON.stringify(a.local)} is not an IPv4 address`,
          );
        return { ip, prefix: Number(a.prefixlen ?? 32), label: typeof a.label === 'string' ? a.label : undefined };
      });
    return {
      name: r.ifname,
      mtu: Number(r.mtu ?? 1500),
      mac: typeof r.address === 'string' ? r.address : undefined,
      addrs,
    };
  });
}

/**
 * Parsed iptables-save texts by their rules (counters and comment lines left out): the nodes of a cluster mostly
 * hold the same kube-proxy rules, so a state directory parses each distinct ruleset once and its nodes share the
 * Ruleset (its rule counters then count for all of them; nothing here reads them). A file is read as bytes into
 * a buffer the cache keeps, its rules (the bytes without counters and comments) compared byte for byte with those
 * of the rulesets read lately, and decoded and parsed only when asked for and none has the same: a 100-node
 * cluster's 2.5 MB per node are then scanned once, not decoded, normalised and hashed as text.
 *
 * kube-proxy writes KUBE-SERVICES in Go map order, so on a live cluster no two nodes' files need be the same
 * bytes. Each file therefore also gets an order-free key (`orderFreeKey`): doctor compares rules per chain as a
 * multiset, so files with the same key compare alike and only the first is parsed for it. Entries not used by the
 * last two files read are forgotten (a parsed 100-node ruleset is ~30 MB).
 */
export class RulesetCache {
  /** Rulesets read lately by the length of their rules bytes. */
  private readonly byLength = new Map<number, RulesEntry[]>();
  private reads = 0;
  private raw = new Uint8Array(0);
  private rules = new Uint8Array(0);

  /**
   * The iptables-save file at `path`: its order-free key, and its Ruleset (`parse` of its text), parsed on first
   * call (re-reading the file) unless a file read lately had the same rules.
   */
  get(path: string, parse: (text: string) => Ruleset): { key: string; ruleset: () => Ruleset } {
    const now = ++this.reads;
    for (const [len, l] of this.byLength) {
      const kept = l.filter((e) => e.used >= now - 2);
      if (kept.length === 0) this.byLength.delete(len);
      else if (kept.length < l.length) this.byLength.set(len, kept);
    }
    const n = this.read(path);
    if (this.rules.length < n) this.rules = new Uint8Array(this.raw.length);
    const len = rulesBytes(this.raw, n, this.rules);
    const bytes = Buffer.from(this.rules.buffer, this.rules.byteOffset, len);
    const same = this.byLength.get(len);
    let entry = same?.find((e) => bytes.equals(e.rules));
    if (!entry) {
      entry = { rules: this.rules.slice(0, len), key: orderFreeKey(this.rules.subarray(0, len)), used: now };
      if (same) same.push(entry);
      else this.byLength.set(len, [entry]);
    }
    entry.used = now;
    const e = entry;
    return { key: e.key, ruleset: () => (e.ruleset ??= parse(readFileSync(path, 'utf8'))) };
  }

  /** Reads the file into `raw` (grown as needed): its length. */
  private read(path: string): number {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (this.raw.length <= size) this.raw = new Uint8Array(size + 65536);
      let n = 0;
      for (;;) {
        if (n === this.raw.length) {
          const grown = new Uint8Array(this.raw.length * 2);
          grown.set(this.raw);
          this.raw = grown;
        }
        const got = readSync(fd, this.raw, n, this.raw.length - n, null);
        if (got === 0) return n;
        n += got;
      }
    } finally {
      closeSync(fd);
    }
  }
}

interface RulesEntry {
  rules: Uint8Array;
  key: string;
  ruleset?: Ruleset;
  /** The read (counted by the cache) that last had these rules. */
  used: number;
}

/**
 * A key of rules bytes (rulesBytes) that does not change when rules move within a chain, except in kube-proxy's
 * hashed chains (KUBE-SVC/SEP/FW/XLB/EXT/SVL-<16>: their rules' order names them, iptables.ts canonNames), or
 * chains move within a table: a multiset hash. Each line is hashed (two 32-bit FNV-1a variants seeded by its
 * table); the lines of one hashed chain, which iptables-save prints together, are folded in order into one hash;
 * the line and chain hashes are summed (three 32-bit sums and the count). Files with the same key have the same
 * chains and the same rules in each as doctor compares them, but for a chance of about 2^-96 (not meant to stand
 * against a file crafted to collide). One pass over the bytes: a sorted-lines digest cost 5 times as much.
 */
export function orderFreeKey(b: Uint8Array): string {
  const n = b.length;
  let s1 = 0,
    s2 = 0,
    s3 = 0,
    count = 0;
  let t1 = 0,
    t2 = 0; // the table's seed
  let c1 = 0,
    c2 = 0,
    chainStart = -1,
    chainLen = 0; // the hashed chain being folded
  const add = (h1: number, h2: number): void => {
    s1 = (s1 + h1) | 0;
    s2 = (s2 + h2) | 0;
    s3 = (s3 + Math.imul(h1 ^ h2, 0x9e3779b1)) | 0;
    count++;
  };
  const endChain = (): void => {
    if (chainStart >= 0) add(c1, c2);
    chainStart = -1;
  };
  let i = 0;
  while (i < n) {
    let e = b.indexOf(LF, i);
    if (e < 0) e = n;
    let h1 = t1 ^ 0x811c9dc5,
      h2 = t2 ^ 0x27d4eb2f;
    for (let k = i; k < e; k++) {
      h1 = Math.imul(h1 ^ b[k]!, 0x01000193);
      h2 = Math.imul(h2 ^ b[k]!, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    if (b[i] === STAR) {
      endChain();
      t1 = h1;
      t2 = h2;
    } else {
      const end = hashedChainEnd(b, i, e);
      if (end < 0) {
        endChain();
        add(h1, h2);
      } else {
        const len = end - i;
        let same = chainStart >= 0 && len === chainLen;
        for (let k = 0; same && k < len; k++) same = b[chainStart + k] === b[i + k];
        if (!same) {
          endChain();
          chainStart = i;
          chainLen = len;
          c1 = 0x3c6ef372;
          c2 = 0x1b873593;
        }
        c1 = (Math.imul(c1 ^ h1, 0x01000193) + 0x6b43a9b5) | 0;
        c2 = Math.imul(((c2 << 5) | (c2 >>> 27)) ^ h2, 0x5bd1e995);
      }
    }
    i = e + 1;
  }
  endChain();
  return `${s1 >>> 0}.${s2 >>> 0}.${s3 >>> 0}.${count}`;
}

const RULE_OF_KUBE = [0x2d, 0x41, 0x20, 0x4b, 0x55, 0x42, 0x45, 0x2d]; // "-A KUBE-"

/** The length of a hashed chain kind (SVC SEP FW XLB EXT SVL) at `b[j]` followed by "-", else 0. */
function hashedKind(b: Uint8Array, j: number): number {
  const x = b[j],
    y = b[j + 1],
    z = b[j + 2];
  if (x === 0x46 && y === 0x57) return b[j + 2] === 0x2d ? 2 : 0; // FW
  const three =
    (x === 0x53 && ((y === 0x56 && (z === 0x43 || z === 0x4c)) || (y === 0x45 && z === 0x50))) || // SVC SVL SEP
    (x === 0x58 && y === 0x4c && z === 0x42) || // XLB
    (x === 0x45 && y === 0x58 && z === 0x54); // EXT
  return three && b[j + 3] === 0x2d ? 3 : 0;
}

/** If the line `b[i..end)` appends to a kube-proxy hashed chain (`-A KUBE-SEP-<16 of A-Z0-9> `), the index after the chain's name; else -1. */
function hashedChainEnd(b: Uint8Array, i: number, end: number): number {
  if (end - i < 8 + 2 + 1 + 16) return -1;
  for (let k = 0; k < 8; k++) if (b[i + k] !== RULE_OF_KUBE[k]) return -1;
  const kind = hashedKind(b, i + 8);
  if (kind === 0) return -1;
  const h = i + 8 + kind + 1;
  let j = h;
  while (j < end && ((b[j]! >= 0x41 && b[j]! <= 0x5a) || (b[j]! >= 0x30 && b[j]! <= 0x39))) j++;
  return j - h === 16 && (j === end || b[j] === SP) ? j : -1;
}

const HASH = 0x23,
  STAR = 0x2a,
  LF = 0x0a,
  CR = 0x0d,
  SP = 0x20,
  LBRACKET = 0x5b,
  RBRACKET = 0x5d,
  COLON = 0x3a,
  D0 = 0x30,
  D9 = 0x39;

/** If `buf[i..end)` starts with an iptables-save counter `[digits:digits]`, the index after it; else -1. */
function counterEnd(buf: Uint8Array, i: number, end: number): number {
  if (i >= end || buf[i] !== LBRACKET) return -1;
  let j = i + 1;
  while (j < end && buf[j]! >= D0 && buf[j]! <= D9) j++;
  if (j === i + 1 || j >= end || buf[j] !== COLON) return -1;
  const k = ++j;
  while (j < end && buf[j]! >= D0 && buf[j]! <= D9) j++;
  if (j === k || j >= end || buf[j] !== RBRACKET) return -1;
  return j + 1;
}

/**
 * The rules of an iptables-save text `src[0..n)` into `out` (as long as `src` at least): its lines without the
 * comment lines, the leading `[pkts:bytes] ` of rules, the trailing ` [pkts:bytes]` of chain lines and CRs,
 * each ended by LF. Returns the length written. Two texts that differ only in those have the same rules bytes.
 * (The text is copied whole, then compacted line by line in place: TypedArray indexOf and copyWithin are V8
 * builtins, faster on 2.5 MB than a loop over the bytes.)
 */
export function rulesBytes(src: Uint8Array, n: number, out: Uint8Array): number {
  out.set(src.subarray(0, n));
  let i = 0,
    o = 0;
  while (i < n) {
    let e = out.indexOf(LF, i);
    if (e < 0 || e > n) e = n;
    let start = i,
      end = e;
    i = e + 1;
    if (out[start] === HASH) continue;
    const c = counterEnd(out, start, end);
    if (c > 0 && c < end && out[c] === SP) start = c + 1;
    if (end > start && out[end - 1] === CR) end--;
    if (end - start > 5 && out[end - 1] === RBRACKET) {
      let j = end - 2;
      while (j > start && out[j] !== LBRACKET) j--;
      if (j > start && out[j - 1] === SP && counterEnd(out, j, end) === end) end = j - 1;
    }
    out.copyWithin(o, start, end);
    o += end - start;
    out[o++] = LF;
  }
  return o;
}

/**
 * What reading one node's files leaves for the next: parsed rulesets (RulesetCache) and flows by flowKey, aged at
 * each node read (RecentMap).
 */
export interface NodeFileCache {
  rulesets: RulesetCache;
  flows: RecentMap<FlowSpec>;
}

/** Reads `nodes/<node>/` under the state directory `root`; files not there stay undefined. */
export function readNodeState(root: string, node: string, caches?: NodeFileCache): NodeState {
  const cache = caches?.rulesets;
  caches?.flows.age();
  const dir = join('nodes', node);
  const st: NodeState = { node, dir, unmodelled: [], files: [] };
  const f = (name: (typeof NODE_FILES)[number]): string | undefined => {
    const text = read(root, join(dir, name));
    if (text !== undefined) st.files.push(name);
    return text;
  };
  const rel = (name: string): string => join(dir, name);
  const flows = f('dump-flows.txt');
  if (flows !== undefined) st.flows = parseDumpFlows(flows, rel('dump-flows.txt'), st.unmodelled, caches?.flows);
  const groups = f('dump-groups.txt');
  if (groups !== undefined) st.groups = parseDumpGroups(groups, rel('dump-groups.txt'));
  const iptPath = join(root, dir, 'iptables-save.txt');
  if (existsSync(iptPath)) {
    st.files.push('iptables-save.txt');
    const parse = (text: string) => parseStateIptables(text, rel('iptables-save.txt'));
    const r = (cache ?? new RulesetCache()).get(iptPath, parse);
    st.iptablesKey = r.key;
    Object.defineProperty(st, 'iptables', { get: r.ruleset, enumerable: true, configurable: true });
  }
  const routes = f('ip-route.json');
  if (routes !== undefined) st.routes = parseIpRoutes(routes, rel('ip-route.json'));
  const addrs = f('ip-addr.json');
  if (addrs !== undefined) st.interfaces = parseIpAddrs(addrs, rel('ip-addr.json'));
  const ct = f('conntrack.txt');
  if (ct !== undefined) st.conntrack = parseConntrackList(ct, rel('conntrack.txt'));
  return st;
}
