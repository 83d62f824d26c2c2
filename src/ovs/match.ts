/**
 * A flow's match: a value and a mask per flow-key word (fields.ts), built from `field=value[/mask]` text and
 * printed back the way Open vSwitch 3.1's match_format() prints it. The printed order, the `ip`/`tcp`/`arp`
 * shorthands, `arp_spa`/`arp_tpa` for ARP flows, `nw_tos` for ip_dscp, and `nw_frag` for ip_frag were
 * checked against `ovs-ofctl -O OpenFlow13 dump-flows` on OVS 3.1.0 (see test/ovs/ovs-real.test.ts).
 */

import { ipv4ToString, macToString, prefixMask, tryParseIpv4, tryParseMac } from '../../codecs/bytes.js';
import {
  CT_STATE_NAMES,
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_RARP,
  FRAG_ANY,
  FRAG_LATER,
  IPPROTO_ICMP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MATCH_FIELDS,
  N_MATCH_WORDS,
  N_REGS,
  OFPP_IN_PORT,
  OFPP_LOCAL,
  OFPP_NONE,
  PROTOCOL_SHORTHANDS,
  W_ARP_SHA_HI,
  W_ARP_THA_HI,
  W_CT_MARK,
  W_CT_STATE,
  W_CT_ZONE,
  W_DL_DST_HI,
  W_DL_SRC_HI,
  W_DL_TYPE,
  W_IN_PORT,
  W_NW_DST,
  W_NW_FRAG,
  W_NW_PROTO,
  W_NW_SRC,
  W_NW_TOS,
  W_NW_TTL,
  W_PKT_MARK,
  W_REG0,
  W_TP_DST,
  W_TP_SRC,
  W_TUN_DST,
  W_TUN_ID_HI,
  W_TUN_SRC,
  ipProtoShorthand,
  type MatchFieldSpec,
} from './fields.js';

/** Thrown for a bad field or value; flow-text.ts adds the line and column. */
export class MatchError extends Error {
  constructor(
    message: string,
    readonly token?: string,
  ) {
    super(message);
    this.name = 'MatchError';
  }
}

/** What to do with a field whose prerequisite (e.g. `ip` for nw_src) is missing from the match. */
export type PrereqPolicy =
  /** Throw (default): a flow that silently loses a field is almost always a bug in a flow generator. */
  | 'reject'
  /** Do what OVS 3.1 does: drop the field and keep the flow (it logs "normalization changed ofp_match"). */
  | 'drop';

const SPECIAL_PORTS: ReadonlyMap<string, number> = new Map([
  ['LOCAL', OFPP_LOCAL],
  ['local', OFPP_LOCAL],
  ['IN_PORT', OFPP_IN_PORT],
  ['in_port', OFPP_IN_PORT],
  ['CONTROLLER', 0xfffd],
  ['ANY', OFPP_NONE],
  ['NONE', OFPP_NONE],
]);

/** Port number from text (`3`, `LOCAL`); undefined when invalid. */
export function parsePort(s: string): number | undefined {
  const named = SPECIAL_PORTS.get(s);
  if (named !== undefined) return named;
  if (!/^\d+$/.test(s)) return undefined;
  const n = +s;
  return n <= 0xffff ? n : undefined;
}

/** Port as ovs-ofctl prints it (`3`, `LOCAL`, `IN_PORT`). */
export function formatPort(p: number): string {
  if (p === OFPP_LOCAL) return 'LOCAL';
  if (p === OFPP_IN_PORT) return 'IN_PORT';
  if (p === 0xfffd) return 'CONTROLLER';
  if (p === OFPP_NONE) return 'ANY';
  return String(p);
}

/** Parse an unsigned integer (decimal or 0x hex) as a bigint; undefined when not a number. */
export function parseUint(s: string): bigint | undefined {
  if (/^0x[0-9a-fA-F]+$/.test(s)) return BigInt(s);
  if (/^\d+$/.test(s)) return BigInt(s);
  return undefined;
}

/** `%#x` as C prints it: `0` for zero, `0x7b` otherwise. */
export function hexC(v: number | bigint): string {
  return v === 0 || v === 0n ? '0' : `0x${v.toString(16)}`;
}

const FRAG_VALUES: ReadonlyMap<string, [number, number]> = new Map([
  ['no', [0, FRAG_ANY]],
  ['yes', [FRAG_ANY, FRAG_ANY]],
  ['first', [FRAG_ANY, FRAG_ANY | FRAG_LATER]],
  ['later', [FRAG_ANY | FRAG_LATER, FRAG_ANY | FRAG_LATER]],
  ['not_later', [0, FRAG_LATER]],
]);

/** Parse a ct_state value: `+trk-est`, `new|trk` (exact), or `0x21/0x21`. Returns [value, mask]. */
export function parseCtState(s: string): [number, number] {
  const num = /^(0x[0-9a-fA-F]+|\d+)(?:\/(0x[0-9a-fA-F]+|\d+))?$/.exec(s);
  if (num) return [Number(num[1]) >>> 0, num[2] !== undefined ? Number(num[2]) >>> 0 : 0xffffffff];
  let value = 0;
  let mask = 0;
  if (s.startsWith('+') || s.startsWith('-')) {
    const re = /([+-])([a-z]+)/g;
    let consumed = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
      const bit = CT_STATE_NAMES.indexOf(m[2] as (typeof CT_STATE_NAMES)[number]);
      if (bit < 0) throw new MatchError(`${m[2]}: unknown ct_state flag(s)`, m[2]);
      mask |= 1 << bit;
      if (m[1] === '+') value |= 1 << bit;
      consumed += m[0].length;
    }
    if (consumed !== s.length) throw new MatchError(`${s}: bad ct_state syntax (expected flags like +trk-est)`, s);
    return [value, mask];
  }
  for (const name of s.split('|')) {
    const bit = CT_STATE_NAMES.indexOf(name as (typeof CT_STATE_NAMES)[number]);
    if (bit < 0) throw new MatchError(`${name}: unknown ct_state flag(s)`, name);
    value |= 1 << bit;
  }
  return [value, 0xffffffff];
}

/** ct_state as OVS prints it: `+new-est+trk` for masked, `new|trk` for an exact match. */
export function formatCtState(value: number, mask: number): string {
  if (mask >>> 0 === 0xffffffff) {
    const names = CT_STATE_NAMES.filter((_, i) => value & (1 << i));
    return names.length ? names.join('|') : '0';
  }
  let s = '';
  for (let i = 0; i < CT_STATE_NAMES.length; i++) {
    if (mask & (1 << i)) s += (value & (1 << i) ? '+' : '-') + CT_STATE_NAMES[i];
  }
  return s;
}

/** Flow-level ct_state flags with '|' separators, as in ofproto/trace `Flow:` lines (`new|trk`). */
export function ctStateFlags(value: number): string {
  return CT_STATE_NAMES.filter((_, i) => value & (1 << i)).join('|');
}

function parseMaskedInt(spec: MatchFieldSpec, text: string): [bigint, bigint] {
  const slash = text.indexOf('/');
  const vText = slash < 0 ? text : text.slice(0, slash);
  const v = parseUint(vText);
  if (v === undefined) throw new MatchError(`${text}: expected a number for ${spec.name}`, text);
  const max = (1n << BigInt(spec.bits)) - 1n;
  if (v > max) throw new MatchError(`${vText}: value too large for ${spec.bits}-bit field ${spec.name}`, vText);
  if (slash < 0) return [v, max];
  if (!spec.maskable) throw new MatchError(`${spec.name} does not support masking`, text);
  const m = parseUint(text.slice(slash + 1));
  if (m === undefined || m > max) throw new MatchError(`${text}: bad mask for ${spec.name}`, text);
  return [v, m];
}

function parseMaskedMac(spec: MatchFieldSpec, text: string): [number, number] {
  const slash = text.indexOf('/');
  const v = tryParseMac(slash < 0 ? text : text.slice(0, slash));
  if (v === undefined) throw new MatchError(`${text}: invalid Ethernet address for ${spec.name}`, text);
  if (slash < 0) return [v, 0xffffffffffff];
  const m = tryParseMac(text.slice(slash + 1));
  if (m === undefined) throw new MatchError(`${text}: invalid Ethernet mask for ${spec.name}`, text);
  return [v, m];
}

function parseMaskedIpv4(spec: MatchFieldSpec, text: string): [number, number] {
  const slash = text.indexOf('/');
  const v = tryParseIpv4(slash < 0 ? text : text.slice(0, slash));
  if (v === undefined) throw new MatchError(`${text}: invalid IP address for ${spec.name}`, text);
  if (slash < 0) return [v, 0xffffffff];
  const rest = text.slice(slash + 1);
  if (/^\d+$/.test(rest)) {
    const p = +rest;
    if (p > 32) throw new MatchError(`${text}: IPv4 network prefix bits not between 0 and 32, inclusive`, text);
    return [v, prefixMask(p)];
  }
  const m = tryParseIpv4(rest);
  if (m === undefined) throw new MatchError(`${text}: invalid IP mask for ${spec.name}`, text);
  return [v, m];
}

/** Number of leading one bits if `m` is a CIDR mask, else -1. */
function cidrPrefix(m: number): number {
  m >>>= 0;
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  return Math.clz32(inv);
}

export class Match {
  /** Value per key word, already ANDed with the mask. */
  readonly values = new Int32Array(N_MATCH_WORDS);
  readonly masks = new Int32Array(N_MATCH_WORDS);
  /** Field names as written, per word, for prerequisite error messages. */
  private readonly givenNames = new Map<number, string>();

  /** Set word `w` to value/mask, keeping `values` masked. */
  setWord(w: number, value: number, mask: number): void {
    this.masks[w] = mask;
    this.values[w] = value & mask;
  }

  /** Merge bits into a word (for fields that share one: nw_tos and nw_ecn). */
  private setBitsInWord(w: number, value: number, mask: number): void {
    const m = (this.masks[w]! & ~mask) | mask;
    const v = (this.values[w]! & ~mask) | (value & mask);
    this.setWord(w, v, m);
  }

  /** Set a shorthand (`ip`, `tcp`, `arp` ...); returns false when `name` is not one. */
  setShorthand(name: string): boolean {
    const sh = PROTOCOL_SHORTHANDS.get(name);
    if (!sh) return false;
    this.setWord(W_DL_TYPE, sh.dlType, 0xffff);
    if (sh.nwProto !== undefined) this.setWord(W_NW_PROTO, sh.nwProto, 0xff);
    return true;
  }

  /** Set one field from its text value; `name` may be any alias ovs-ofctl accepts. Throws MatchError. */
  setField(name: string, text: string): void {
    const spec = MATCH_FIELDS.get(name);
    if (!spec) throw new MatchError(`unknown keyword ${name}`, name);
    this.givenNames.set(spec.word, name);
    switch (spec.syntax) {
      case 'port': {
        const p = parsePort(text);
        if (p === undefined) throw new MatchError(`${text}: invalid or unknown port for ${name}`, text);
        this.setWord(spec.word, p, 0xffff);
        return;
      }
      case 'mac': {
        const [v, m] = parseMaskedMac(spec, text);
        this.setWord(spec.word, Math.floor(v / 0x100000000) & 0xffff, Math.floor(m / 0x100000000) & 0xffff);
        this.setWord(spec.word + 1, v >>> 0, m >>> 0);
        return;
      }
      case 'ipv4': {
        const [v, m] = parseMaskedIpv4(spec, text);
        this.setWord(spec.word, v, m);
        return;
      }
      case 'u64': {
        const [v, m] = parseMaskedInt(spec, text);
        this.setWord(spec.word, Number(v >> 32n), Number(m >> 32n));
        this.setWord(spec.word + 1, Number(v & 0xffffffffn), Number(m & 0xffffffffn));
        return;
      }
      case 'u8':
      case 'u16':
      case 'u32': {
        const [v, m] = parseMaskedInt(spec, text);
        if (spec.word === W_NW_TOS) {
          // nw_tos is the DSCP part of the TOS byte (its ECN bits are ignored, as OVS does); nw_ecn the low 2 bits.
          if (spec.name === 'nw_tos') this.setBitsInWord(W_NW_TOS, Number(v), 0xfc);
          else this.setBitsInWord(W_NW_TOS, Number(v), 0x03);
          return;
        }
        this.setWord(spec.word, Number(v), Number(m));
        return;
      }
      case 'dscp': {
        const [v] = parseMaskedInt(spec, text);
        this.setBitsInWord(W_NW_TOS, Number(v) << 2, 0xfc);
        return;
      }
      case 'ct_state': {
        const [v, m] = parseCtState(text);
        this.setWord(spec.word, v, m);
        return;
      }
      case 'frag': {
        const fm = FRAG_VALUES.get(text);
        if (!fm)
          throw new MatchError(`${text}: unknown fragment type (expected no, yes, first, later or not_later)`, text);
        this.setWord(spec.word, fm[0], fm[1]);
        return;
      }
    }
  }

  /**
   * Check OVS prerequisites (nw_src needs ip or arp, tp_dst needs tcp/udp/sctp, icmp_type needs icmp, ...).
   * With 'reject' throws naming the field; with 'drop' removes the field as OVS 3.1 does.
   */
  checkPrerequisites(policy: PrereqPolicy = 'reject'): void {
    const dlType = (this.masks[W_DL_TYPE]! & 0xffff) === 0xffff ? this.values[W_DL_TYPE]! : -1;
    const isIp = dlType === ETH_TYPE_IP;
    const isArp = dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP;
    const proto = (this.masks[W_NW_PROTO]! & 0xff) === 0xff ? this.values[W_NW_PROTO]! : -1;
    const l4 = isIp && (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP);
    const icmp = isIp && proto === IPPROTO_ICMP;
    const need = (words: number[], ok: boolean, what: string): void => {
      for (const w of words) {
        if (ok || this.masks[w] === 0) continue;
        if (policy === 'drop') {
          this.setWord(w, 0, 0);
          continue;
        }
        const name = this.givenNames.get(w) ?? 'field';
        throw new MatchError(
          `${name} requires ${what} in the match (OVS 3.1 would silently drop ${name} from this flow: "normalization changed ofp_match")`,
          name,
        );
      }
    };
    need([W_NW_SRC, W_NW_DST], isIp || isArp, '"ip" or "arp" (dl_type=0x0800 or 0x0806)');
    need([W_NW_PROTO], isIp || isArp, '"ip" (dl_type=0x0800)');
    need([W_NW_TOS, W_NW_TTL, W_NW_FRAG], isIp, '"ip" (dl_type=0x0800)');
    need([W_ARP_SHA_HI, W_ARP_SHA_HI + 1, W_ARP_THA_HI, W_ARP_THA_HI + 1], isArp, '"arp" (dl_type=0x0806)');
    need([W_TP_SRC, W_TP_DST], l4 || icmp, '"tcp", "udp", "sctp" or "icmp" (nw_proto=6/17/132/1)');
  }

  /** True when the key matches every masked word. */
  matches(key: Int32Array): boolean {
    const v = this.values,
      m = this.masks;
    for (let w = 0; w < N_MATCH_WORDS; w++) if ((key[w]! & m[w]!) !== v[w]) return false;
    return true;
  }

  /** Same values and masks (the identity OVS uses to replace a flow on add-flow). */
  equals(o: Match): boolean {
    for (let w = 0; w < N_MATCH_WORDS; w++)
      if (this.values[w] !== o.values[w] || this.masks[w] !== o.masks[w]) return false;
    return true;
  }

  /** True when every word `filter` constrains is constrained at least as tightly here, with equal bits (del-flows). */
  refines(filter: Match): boolean {
    for (let w = 0; w < N_MATCH_WORDS; w++) {
      const fm = filter.masks[w]!;
      if ((this.masks[w]! & fm) !== fm || (this.values[w]! & fm) !== filter.values[w]) return false;
    }
    return true;
  }

  /** Match text in OVS 3.1 normal form (`ct_state=-trk,ip,in_port=1,nw_src=10.128.0.0/14`), no priority. */
  format(): string {
    const out: string[] = [];
    const v = this.values,
      m = this.masks;
    const u = (w: number): number => v[w]! >>> 0;
    const um = (w: number): number => m[w]! >>> 0;
    const u32 = (name: string, w: number): void => {
      if (m[w] === 0) return;
      out.push(um(w) === 0xffffffff ? `${name}=${hexC(u(w))}` : `${name}=${hexC(u(w))}/${hexC(um(w))}`);
    };
    const u16 = (name: string, w: number, full = 0xffff): void => {
      if (m[w] === 0) return;
      out.push(um(w) === full ? `${name}=${u(w)}` : `${name}=${hexC(u(w))}/${hexC(um(w))}`);
    };
    const ip = (name: string, w: number): void => {
      if (m[w] === 0) return;
      const mask = um(w);
      if (mask === 0xffffffff) out.push(`${name}=${ipv4ToString(u(w))}`);
      else {
        const p = cidrPrefix(mask);
        out.push(`${name}=${ipv4ToString(u(w))}/${p >= 0 ? p : ipv4ToString(mask)}`);
      }
    };
    const mac = (name: string, w: number): void => {
      if (m[w] === 0 && m[w + 1] === 0) return;
      const val = (u(w) & 0xffff) * 0x100000000 + u(w + 1);
      const mk = (um(w) & 0xffff) * 0x100000000 + um(w + 1);
      out.push(
        mk === 0xffffffffffff ? `${name}=${macToString(val)}` : `${name}=${macToString(val)}/${macToString(mk)}`,
      );
    };

    u32('pkt_mark', W_PKT_MARK);
    if (m[W_CT_STATE] !== 0) out.push(`ct_state=${formatCtState(u(W_CT_STATE), um(W_CT_STATE))}`);
    u16('ct_zone', W_CT_ZONE);
    u32('ct_mark', W_CT_MARK);

    // dl_type and nw_proto collapse into a shorthand when one exists (match_format's skip_type/skip_proto).
    const dlTypeExact = (m[W_DL_TYPE]! & 0xffff) === 0xffff;
    const dlType = dlTypeExact ? u(W_DL_TYPE) : -1;
    let skipType = false;
    let skipProto = false;
    if (dlTypeExact) {
      skipType = true;
      if (dlType === ETH_TYPE_IP) {
        const sh = (m[W_NW_PROTO]! & 0xff) === 0xff ? ipProtoShorthand(u(W_NW_PROTO)) : undefined;
        if (sh) {
          out.push(sh);
          skipProto = true;
        } else out.push('ip');
      } else if (dlType === ETH_TYPE_ARP) out.push('arp');
      else if (dlType === ETH_TYPE_RARP) out.push('rarp');
      else if (dlType === ETH_TYPE_IPV6) out.push('ipv6');
      else skipType = false;
    }
    for (let i = 0; i < N_REGS; i++) u32(`reg${i}`, W_REG0 + i);
    if (m[W_TUN_ID_HI] !== 0 || m[W_TUN_ID_HI + 1] !== 0) {
      const val = (BigInt(u(W_TUN_ID_HI)) << 32n) | BigInt(u(W_TUN_ID_HI + 1));
      const mk = (BigInt(um(W_TUN_ID_HI)) << 32n) | BigInt(um(W_TUN_ID_HI + 1));
      out.push(mk === 0xffffffffffffffffn ? `tun_id=${hexC(val)}` : `tun_id=${hexC(val)}/${hexC(mk)}`);
    }
    ip('tun_src', W_TUN_SRC);
    ip('tun_dst', W_TUN_DST);
    if (m[W_IN_PORT] !== 0) out.push(`in_port=${formatPort(u(W_IN_PORT))}`);
    mac('dl_src', W_DL_SRC_HI);
    mac('dl_dst', W_DL_DST_HI);
    if (!skipType && m[W_DL_TYPE] !== 0) out.push(`dl_type=0x${u(W_DL_TYPE).toString(16).padStart(4, '0')}`);
    const isArp = dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP;
    ip(isArp ? 'arp_spa' : 'nw_src', W_NW_SRC);
    ip(isArp ? 'arp_tpa' : 'nw_dst', W_NW_DST);
    if (!skipProto && m[W_NW_PROTO] !== 0) out.push(`${isArp ? 'arp_op' : 'nw_proto'}=${u(W_NW_PROTO)}`);
    mac('arp_sha', W_ARP_SHA_HI);
    mac('arp_tha', W_ARP_THA_HI);
    if (m[W_NW_TOS]! & 0xfc) out.push(`nw_tos=${u(W_NW_TOS) & 0xfc}`);
    if (m[W_NW_TOS]! & 0x03) out.push(`nw_ecn=${u(W_NW_TOS) & 0x03}`);
    u16('nw_ttl', W_NW_TTL, 0xff);
    if (m[W_NW_FRAG] !== 0) {
      const fm = um(W_NW_FRAG),
        fv = u(W_NW_FRAG);
      const name =
        fm === FRAG_ANY
          ? fv
            ? 'yes'
            : 'no'
          : fm === FRAG_LATER
            ? fv
              ? 'later'
              : 'not_later'
            : fv === 0
              ? 'no'
              : fv === FRAG_ANY
                ? 'first'
                : 'later';
      out.push(`nw_frag=${name}`);
    }
    const isIcmp = dlType === ETH_TYPE_IP && (m[W_NW_PROTO]! & 0xff) === 0xff && u(W_NW_PROTO) === IPPROTO_ICMP;
    u16(isIcmp ? 'icmp_type' : 'tp_src', W_TP_SRC, isIcmp ? 0xff : 0xffff);
    u16(isIcmp ? 'icmp_code' : 'tp_dst', W_TP_DST, isIcmp ? 0xff : 0xffff);
    return out.join(',');
  }

  /** True when nothing is matched (a catch-all flow). */
  isEmpty(): boolean {
    for (let w = 0; w < N_MATCH_WORDS; w++) if (this.masks[w] !== 0) return false;
    return true;
  }
}
