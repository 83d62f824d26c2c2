/**
 * Readable and writable fields for `load`, `move`, `set_field` and `output:FIELD[]`: their NXM names (how
 * ovs-ofctl prints them), widths, and accessors that keep the flow key, the PacketBuffer metadata and the
 * frame bytes in step. Rewriting an IPv4 address patches the IPv4 and TCP/UDP checksums incrementally
 * (RFC 1624), as the OVS datapath does.
 *
 * Values are carried as two 32-bit halves (hi, lo) so 48-bit MACs and 64-bit tun_id need no BigInt. Getters
 * return them unsigned; `write` accepts either form (only the 32 bits count) and the writers below pass int32s:
 * a uint32 >= 2^31 handed to a call that is not inlined is a heap number, i.e. an allocation per packet.
 */

import { readU16, writeU16, writeU32 } from '../../codecs/bytes.js';
import { checksumUpdate32 } from '../../codecs/checksum.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import {
  ETH_TYPE_IP,
  FRAG_LATER,
  IPPROTO_TCP,
  IPPROTO_UDP,
  W_CT_MARK,
  W_CT_STATE,
  W_CT_ZONE,
  W_DL_DST_HI,
  W_DL_DST_LO,
  W_DL_SRC_HI,
  W_DL_SRC_LO,
  W_DL_TYPE,
  W_IN_PORT,
  W_L3_OFS,
  W_L4_OFS,
  W_NW_DST,
  W_NW_FRAG,
  W_NW_PROTO,
  W_NW_SRC,
  N_KEY_WORDS,
  W_PKT_MARK,
  W_REG0,
  W_TP_DST,
  W_TP_SRC,
  W_TUN_DST,
  W_TUN_ID_HI,
  W_TUN_ID_LO,
  W_TUN_SRC,
  type FieldSyntax,
  type Prereq,
} from './fields.js';

/** What an action reads and writes while a packet runs through the bridge. */
export interface ExecContext {
  key: Int32Array;
  pkt: PacketBuffer;
}

/** A field usable in load/move/set_field. */
export interface RwField {
  /** NXM name as ovs-ofctl prints it in load/move (`NXM_NX_REG0`). */
  nxm: string;
  /** Name as ovs-ofctl prints it in set_field (`reg0`, `tun_dst`, `eth_dst`). */
  name: string;
  bits: number;
  syntax: FieldSyntax;
  /** Match prerequisite for writing it (set_field ip_dst needs `ip` in the flow's match). */
  prereq: Prereq;
  writable: boolean;
  /** Only settable inside ct(exec(...)). */
  ctOnly?: boolean;
  /**
   * Where writing the field changes the frame's bytes (the rest is metadata): a constant byte range (MACs), or an
   * IPv4 address rewrite with checksum patches. Path recordings (fastpath/) need to know.
   */
  frame?: { kind: 'bytes'; offset: number; length: number } | { kind: 'ip' };
  hi(ctx: ExecContext): number;
  lo(ctx: ExecContext): number;
  /** Write the whole field (hi is ignored for fields of 32 bits or fewer); halves as uint32 or int32. */
  write(ctx: ExecContext, hi: number, lo: number): void;
}

const NOT_WRITABLE = (): void => {
  throw new Error('field is read-only');
};
const ZERO = (): number => 0;

function word32(
  nxm: string,
  name: string,
  w: number,
  bits: number,
  syntax: FieldSyntax,
  set: ((ctx: ExecContext, v: number) => void) | undefined,
  prereq: Prereq = 'none',
): RwField {
  return {
    nxm,
    name,
    bits,
    syntax,
    prereq,
    writable: set !== undefined,
    ctOnly: false,
    frame: undefined,
    hi: ZERO,
    lo: (ctx) => ctx.key[w]! >>> 0,
    write: set ? (ctx, _hi, lo) => set(ctx, lo | 0) : NOT_WRITABLE,
  };
}

/**
 * Rewrite one IPv4 address in the frame (src at +12, dst at +16) and patch checksums without a full recompute.
 * Addresses stay int32 here (the checksum updates only look at their 16-bit halves).
 */
function rewriteIpv4Address(ctx: ExecContext, word: number, fieldOffset: number, v: number): void {
  const key = ctx.key;
  const old = key[word]!;
  v |= 0;
  key[word] = v;
  const l3 = key[W_L3_OFS]!;
  if (l3 < 0 || (key[W_DL_TYPE]! & 0xffff) !== ETH_TYPE_IP || old === v) return;
  const b = ctx.pkt.data;
  writeU32(b, l3 + fieldOffset, v);
  writeU16(b, l3 + 10, checksumUpdate32(readU16(b, l3 + 10), old, v));
  // The TCP/UDP checksum covers the pseudo-header, so it changes too (not for non-first fragments).
  const l4 = key[W_L4_OFS]!;
  if (l4 < 0 || (key[W_NW_FRAG]! & FRAG_LATER) !== 0) return;
  const proto = key[W_NW_PROTO]!;
  if (proto === IPPROTO_TCP) {
    writeU16(b, l4 + 16, checksumUpdate32(readU16(b, l4 + 16), old, v));
  } else if (proto === IPPROTO_UDP) {
    const c = readU16(b, l4 + 6);
    if (c !== 0) {
      // RFC 768: a computed 0 is sent as 0xffff; 0 means "no checksum" and stays 0.
      const n = checksumUpdate32(c, old, v);
      writeU16(b, l4 + 6, n === 0 ? 0xffff : n);
    }
  }
}

function macField(nxm: string, name: string, hiW: number, loW: number, byteOfs: number): RwField {
  return {
    nxm,
    name,
    bits: 48,
    syntax: 'mac',
    prereq: 'none',
    writable: true,
    ctOnly: false,
    frame: { kind: 'bytes', offset: byteOfs, length: 6 },
    hi: (ctx) => ctx.key[hiW]! & 0xffff,
    lo: (ctx) => ctx.key[loW]! >>> 0,
    write: (ctx, hi, lo) => {
      ctx.key[hiW] = hi & 0xffff;
      ctx.key[loW] = lo;
      const b = ctx.pkt.data,
        o = ctx.pkt.start + byteOfs;
      if (ctx.pkt.end - ctx.pkt.start < 14) return;
      writeU16(b, o, hi);
      writeU32(b, o + 2, lo);
    },
  };
}

// Setters receive int32 values; PacketBuffer metadata keeps them unsigned.
const REG_SETTERS: ((ctx: ExecContext, v: number) => void)[] = Array.from(
  { length: 8 },
  (_, i) => (ctx: ExecContext, v: number) => {
    ctx.key[W_REG0 + i] = v;
    if (i === 0) ctx.pkt.reg0 = v >>> 0;
    else if (i === 1) ctx.pkt.reg1 = v >>> 0;
    else if (i === 2) ctx.pkt.reg2 = v >>> 0;
  },
);

const TUN_ID: RwField = {
  nxm: 'NXM_NX_TUN_ID',
  name: 'tun_id',
  bits: 64,
  syntax: 'u64',
  prereq: 'none',
  writable: true,
  ctOnly: false,
  frame: undefined,
  hi: (ctx) => ctx.key[W_TUN_ID_HI]! >>> 0,
  lo: (ctx) => ctx.key[W_TUN_ID_LO]! >>> 0,
  write: (ctx, hi, lo) => {
    ctx.key[W_TUN_ID_HI] = hi;
    ctx.key[W_TUN_ID_LO] = lo;
    // PacketBuffer keeps tun_id as one number: exact up to 2^53 (VNIs are 24 bits).
    ctx.pkt.tunId = (hi >>> 0) * 0x100000000 + (lo >>> 0);
  },
};

const FIELDS: RwField[] = [
  ...REG_SETTERS.map((set, i) => word32(`NXM_NX_REG${i}`, `reg${i}`, W_REG0 + i, 32, 'u32', set)),
  TUN_ID,
  word32('NXM_NX_TUN_IPV4_SRC', 'tun_src', W_TUN_SRC, 32, 'ipv4', (ctx, v) => {
    ctx.key[W_TUN_SRC] = v;
    ctx.pkt.tunSrc = v >>> 0;
  }),
  word32('NXM_NX_TUN_IPV4_DST', 'tun_dst', W_TUN_DST, 32, 'ipv4', (ctx, v) => {
    ctx.key[W_TUN_DST] = v;
    ctx.pkt.tunDst = v >>> 0;
  }),
  word32('NXM_NX_PKT_MARK', 'pkt_mark', W_PKT_MARK, 32, 'u32', (ctx, v) => {
    ctx.key[W_PKT_MARK] = v;
    ctx.pkt.pktMark = v >>> 0;
  }),
  word32('NXM_OF_IN_PORT', 'in_port', W_IN_PORT, 16, 'port', (ctx, v) => {
    ctx.key[W_IN_PORT] = v & 0xffff;
    ctx.pkt.inPort = v & 0xffff;
  }),
  macField('NXM_OF_ETH_DST', 'eth_dst', W_DL_DST_HI, W_DL_DST_LO, 0),
  macField('NXM_OF_ETH_SRC', 'eth_src', W_DL_SRC_HI, W_DL_SRC_LO, 6),
  {
    ...word32(
      'NXM_OF_IP_SRC',
      'ip_src',
      W_NW_SRC,
      32,
      'ipv4',
      (ctx, v) => rewriteIpv4Address(ctx, W_NW_SRC, 12, v),
      'ip',
    ),
    frame: { kind: 'ip' },
  },
  {
    ...word32(
      'NXM_OF_IP_DST',
      'ip_dst',
      W_NW_DST,
      32,
      'ipv4',
      (ctx, v) => rewriteIpv4Address(ctx, W_NW_DST, 16, v),
      'ip',
    ),
    frame: { kind: 'ip' },
  },
  {
    ...word32('NXM_NX_CT_MARK', 'ct_mark', W_CT_MARK, 32, 'u32', (ctx, v) => {
      ctx.key[W_CT_MARK] = v;
      ctx.pkt.ctMark = v >>> 0;
    }),
    ctOnly: true,
  },
  word32('NXM_NX_CT_STATE', 'ct_state', W_CT_STATE, 32, 'u32', undefined),
  word32('NXM_NX_CT_ZONE', 'ct_zone', W_CT_ZONE, 16, 'u16', undefined),
  word32('NXM_OF_ETH_TYPE', 'eth_type', W_DL_TYPE, 16, 'u16', undefined),
  word32('NXM_OF_IP_PROTO', 'nw_proto', W_NW_PROTO, 8, 'u8', undefined, 'ip'),
  word32('NXM_OF_TCP_SRC', 'tcp_src', W_TP_SRC, 16, 'u16', undefined, 'l4'),
  word32('NXM_OF_TCP_DST', 'tcp_dst', W_TP_DST, 16, 'u16', undefined, 'l4'),
  word32('NXM_OF_UDP_SRC', 'udp_src', W_TP_SRC, 16, 'u16', undefined, 'l4'),
  word32('NXM_OF_UDP_DST', 'udp_dst', W_TP_DST, 16, 'u16', undefined, 'l4'),
];

const BY_NAME = new Map<string, RwField>();
for (const f of FIELDS) {
  BY_NAME.set(f.nxm, f);
  if (!BY_NAME.has(f.name)) BY_NAME.set(f.name, f);
}
// Aliases ovs-ofctl accepts in set_field and in subfield syntax (`reg0[0..15]`).
for (const [alias, name] of [
  ['nw_src', 'ip_src'],
  ['nw_dst', 'ip_dst'],
  ['dl_src', 'eth_src'],
  ['dl_dst', 'eth_dst'],
  ['tun_ipv4_src', 'tun_src'],
  ['tun_ipv4_dst', 'tun_dst'],
  ['tunnel_id', 'tun_id'],
  ['NXM_NX_TUN_ID_W', 'tun_id'],
  ['OXM_OF_IN_PORT', 'in_port'],
  ['OXM_OF_ETH_DST', 'eth_dst'],
  ['OXM_OF_ETH_SRC', 'eth_src'],
  ['OXM_OF_IPV4_SRC', 'ip_src'],
  ['OXM_OF_IPV4_DST', 'ip_dst'],
  ['OXM_OF_TUNNEL_ID', 'tun_id'],
] as const) {
  BY_NAME.set(alias, BY_NAME.get(name)!);
}

/** Look up a field by NXM name, set_field name or alias. */
export function findRwField(name: string): RwField | undefined {
  return BY_NAME.get(name);
}

/** Bits [ofs, ofs+n) of a field, n <= 32, as an unsigned number. */
/** The key words a field's value is read from (found by probing its getters with one word set at a time). */
export function fieldWords(f: RwField): number[] {
  const key = new Int32Array(N_KEY_WORDS);
  const ctx = { key } as ExecContext;
  const out: number[] = [];
  for (let w = 0; w < N_KEY_WORDS; w++) {
    key[w] = -1;
    if (f.hi(ctx) !== 0 || f.lo(ctx) !== 0) out.push(w);
    key[w] = 0;
  }
  return out;
}

export function extractBits(hi: number, lo: number, ofs: number, n: number): number {
  const m = n === 32 ? 0xffffffff : (1 << n) - 1;
  if (ofs >= 32) return ((hi >>> (ofs - 32)) & m) >>> 0;
  if (ofs + n <= 32) return ((lo >>> ofs) & m) >>> 0;
  const lowBits = 32 - ofs;
  return ((lo >>> ofs) | ((hi << lowBits) & (m << lowBits))) >>> 0;
}

// Results of insertBits, as int32 (a uint32 stored in a module variable would be a fresh heap number each time).
let outHi = 0;
let outLo = 0;

/** Insert v (n <= 32 bits) at [ofs, ofs+n) of (hi, lo); the result is left in `outHi`/`outLo` (int32). */
function insertBits(hi: number, lo: number, ofs: number, n: number, v: number): void {
  const m = n === 32 ? 0xffffffff : (1 << n) - 1;
  v &= m;
  if (ofs >= 32) {
    const s = ofs - 32;
    outHi = (hi & ~(m << s)) | (v << s);
    outLo = lo | 0;
  } else if (ofs + n <= 32) {
    outHi = hi | 0;
    outLo = (lo & ~(m << ofs)) | (v << ofs);
  } else {
    const lowBits = 32 - ofs;
    outLo = (lo & ((1 << ofs) - 1)) | (v << ofs);
    const hiN = n - lowBits;
    const hm = (1 << hiN) - 1;
    outHi = (hi & ~hm) | ((v >>> lowBits) & hm);
  }
}

/** Write bits [ofs, ofs+n) of a field from a value of up to 32 bits. */
export function writeBits(f: RwField, ctx: ExecContext, ofs: number, n: number, v: number): void {
  if (ofs === 0 && n === f.bits && n <= 32) {
    f.write(ctx, 0, v | 0);
    return;
  }
  insertBits(f.hi(ctx), f.lo(ctx), ofs, n, v);
  f.write(ctx, outHi, outLo);
}

/** Copy n bits (any width up to 64) from src[srcOfs..] to dst[dstOfs..], 32 bits at a time (NXAST_REG_MOVE). */
export function moveBits(
  src: RwField,
  srcOfs: number,
  dst: RwField,
  dstOfs: number,
  n: number,
  ctx: ExecContext,
): void {
  const sh = src.hi(ctx),
    sl = src.lo(ctx);
  for (let done = 0; done < n; done += 32) {
    const chunk = Math.min(32, n - done);
    writeBits(dst, ctx, dstOfs + done, chunk, extractBits(sh, sl, srcOfs + done, chunk));
  }
}

/** Split a non-negative bigint (cold path: parsed values) into 32-bit halves. */
export function splitBig(v: bigint): [number, number] {
  return [Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)];
}
