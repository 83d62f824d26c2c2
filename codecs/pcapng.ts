/**
 * pcapng capture files (draft-ietf-opsawg-pcapng): a sequence of blocks, each
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------------------------------------------------------+
 *   |                          Block Type                           |
 *   +---------------------------------------------------------------+
 *   |                      Block Total Length                       |
 *   +---------------------------------------------------------------+
 *   /                 Block Body (fixed fields, then options)       /
 *   +---------------------------------------------------------------+
 *   |                      Block Total Length                       |
 *   +---------------------------------------------------------------+
 *
 * with options as { code u16, length u16, value padded to 4 } ending in opt_endofopt (0, 0). We write:
 *   SHB (0x0A0D0D0A): byte-order magic 0x1A2B3C4D, version 1.0, section length -1, shb_userappl(4)
 *   IDB (1): linktype u16, reserved u16, snaplen u32, if_name(2), if_description(3), if_tsresol(9)=9, if_tsoffset(14)
 *   EPB (6): interface id, timestamp high/low, captured length, original length, data padded to 4,
 *            opt_comment(1), epb_flags(2) (bits 0-1: 01 inbound, 10 outbound)
 * little endian. The reader also takes big-endian sections, Simple Packet Blocks (3) and skips unknown blocks.
 *
 * One file can hold a frame as seen on every port (veth, br0, tun0, vxlan0, eth0): one IDB per port, which
 * Wireshark shows as frame.interface_name. IDBs may appear anywhere before their first packet.
 */

import type { ByteSink } from './file-sink.js';
import { DEFAULT_SNAPLEN, LINKTYPE_ETHERNET } from './pcap.js';
import { DecodeError, EncodeError, fault } from './errors.js';

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 1;
export const BLOCK_SPB = 3;
export const BLOCK_EPB = 6;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;
export const EPB_FLAGS = 2;

/** epb_flags direction bits (0-1). */
export const EPB_DIRECTION_INBOUND = 1;
export const EPB_DIRECTION_OUTBOUND = 2;

/** Block header (type + length) and trailer (length). */
const BLOCK_OVERHEAD = 12;
/** EPB fixed body: interface id, ts high, ts low, captured length, original length. */
const EPB_FIXED = 20;
const MAX_OPTION_LEN = 0xffff;

function pad4(n: number): number {
  return (n + 3) & ~3;
}

export interface PcapngWriterOptions {
  /** shb_userappl; default 'packetwalk'. Pass '' to omit. */
  userAppl?: string;
}

/** An interface (one IDB). */
export interface PcapngInterfaceOptions {
  /** if_name, e.g. `veth1a2b3c4d`, `vxlan0`, `eth0` (Wireshark: frame.interface_name). */
  name: string;
  /** if_description, e.g. `pod web-1 (default/web-1)`. */
  description?: string;
  /** Default LINKTYPE_ETHERNET. */
  linktype?: number;
  /** Default 262144. Packets longer than this are cut; their original length is kept. */
  snaplen?: number;
  /** Nanosecond timestamps (if_tsresol = 9); default true. false = pcapng's default microseconds. */
  tsresolNs?: boolean;
  /** if_tsoffset: whole seconds added to every timestamp of this interface (e.g. a wall-clock epoch). */
  tsOffsetSec?: number;
}

/** Per-packet extras. Reuse one object per call site to keep the hot path allocation-free. */
export interface PcapngPacketOptions {
  /** opt_comment, e.g. a one-line trace summary. */
  comment?: string;
  /** epb_flags direction (Wireshark: frame.packet_flags_direction). */
  direction?: 'inbound' | 'outbound';
  /** Length on the wire; default the captured range. */
  origLen?: number;
}

/** Size of one option (header + value padded to 4). */
function optionSize(valueLen: number): number {
  return 4 + pad4(valueLen);
}

/** Write a string option at `o` (value encoded straight into the buffer); returns the offset after it. */
function putStringOption(b: Buffer, o: number, code: number, s: string, byteLen: number): number {
  b.writeUInt16LE(code, o);
  b.writeUInt16LE(byteLen, o + 2);
  b.write(s, o + 4, byteLen, 'utf8');
  const end = o + optionSize(byteLen);
  b.fill(0, o + 4 + byteLen, end);
  return end;
}

/** Write a 32-bit value little endian (inlined: no call, so no boxed argument for values >= 2^31). */
function putU32LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/** Most comments repeat (one per hop rule): their UTF-8 bytes are kept, up to this many distinct strings. */
const COMMENT_CACHE_MAX = 4096;

function stringOptionLength(what: string, s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  if (n > MAX_OPTION_LEN)
    throw new EncodeError('pcapng', `${what} is ${n} bytes; an option holds at most ${MAX_OPTION_LEN}`);
  return n;
}

/** Writes a pcapng stream into a sink: the SHB at construction, IDBs on addInterface, EPBs on writePacket. */
export class PcapngWriter {
  /** Packets written so far. */
  packetCount = 0;
  // Per-interface facts the hot path needs, as flat arrays indexed by interface id.
  private readonly snaplens: number[] = [];
  private readonly nanosecond: boolean[] = [];
  /**
   * Recent comments as whole opt_comment options (code, length, UTF-8 bytes, padding): encoding the same string
   * again per record costs more than the record, and one typed-array copy beats a byte loop.
   */
  private readonly comments = new Map<string, Uint8Array>();

  constructor(
    readonly sink: ByteSink,
    opts: PcapngWriterOptions = {},
  ) {
    const appl = opts.userAppl ?? 'packetwalk';
    const applLen = appl === '' ? 0 : stringOptionLength('shb_userappl', appl);
    const optsLen = applLen === 0 ? 0 : optionSize(applLen) + 4;
    const total = BLOCK_OVERHEAD + 16 + optsLen;
    let o = sink.reserve(total);
    const b = sink.buf;
    b.writeUInt32LE(BLOCK_SHB, o);
    b.writeUInt32LE(total, o + 4);
    b.writeUInt32LE(BYTE_ORDER_MAGIC, o + 8);
    b.writeUInt16LE(1, o + 12); // major version
    b.writeUInt16LE(0, o + 14); // minor version
    b.writeInt32LE(-1, o + 16); // section length: -1 = not specified (64 bits of ones)
    b.writeInt32LE(-1, o + 20);
    o += 24;
    if (applLen > 0) {
      o = putStringOption(b, o, SHB_USERAPPL, appl, applLen);
      b.writeUInt32LE(OPT_ENDOFOPT, o);
      o += 4;
    }
    b.writeUInt32LE(total, o);
  }

  /** Number of interfaces added. */
  get interfaceCount(): number {
    return this.snaplens.length;
  }

  /** Write an Interface Description Block; returns its interface id (0, 1, ... in order of addition). */
  addInterface(i: PcapngInterfaceOptions): number {
    const snaplen = i.snaplen ?? DEFAULT_SNAPLEN;
    const ns = i.tsresolNs ?? true;
    if (!(snaplen >= 0 && snaplen <= 0xffffffff)) throw new EncodeError('pcapng', `snaplen ${snaplen} out of range`);
    const nameLen = stringOptionLength('if_name', i.name);
    const descLen = i.description === undefined ? 0 : stringOptionLength('if_description', i.description);
    let optsLen = 0;
    if (nameLen > 0) optsLen += optionSize(nameLen);
    if (descLen > 0) optsLen += optionSize(descLen);
    if (ns) optsLen += optionSize(1);
    if (i.tsOffsetSec) optsLen += optionSize(8);
    if (optsLen > 0) optsLen += 4;
    const total = BLOCK_OVERHEAD + 8 + optsLen;
    let o = this.sink.reserve(total);
    const b = this.sink.buf;
    b.writeUInt32LE(BLOCK_IDB, o);
    b.writeUInt32LE(total, o + 4);
    b.writeUInt16LE(i.linktype ?? LINKTYPE_ETHERNET, o + 8);
    b.writeUInt16LE(0, o + 10);
    b.writeUInt32LE(snaplen, o + 12);
    o += 16;
    if (nameLen > 0) o = putStringOption(b, o, IF_NAME, i.name, nameLen);
    if (descLen > 0) o = putStringOption(b, o, IF_DESCRIPTION, i.description!, descLen);
    if (ns) {
      b.writeUInt16LE(IF_TSRESOL, o);
      b.writeUInt16LE(1, o + 2);
      b.writeUInt32LE(9, o + 4); // value 9 (10^-9 s) then 3 zero bytes of padding, little endian
      o += 8;
    }
    if (i.tsOffsetSec) {
      b.writeUInt16LE(IF_TSOFFSET, o);
      b.writeUInt16LE(8, o + 2);
      b.writeBigInt64LE(BigInt(Math.trunc(i.tsOffsetSec)), o + 4);
      o += 12;
    }
    if (optsLen > 0) {
      b.writeUInt32LE(OPT_ENDOFOPT, o);
      o += 4;
    }
    b.writeUInt32LE(total, o);
    this.snaplens.push(snaplen === 0 ? 0xffffffff : snaplen);
    this.nanosecond.push(ns);
    return this.snaplens.length - 1;
  }

  /**
   * Append an Enhanced Packet Block: `bytes[start, end)` seen on interface `ifId` at `tsNs` (integer
   * nanoseconds). Bytes past the interface snaplen are cut and the original length kept. Allocates nothing
   * (a comment is encoded straight into the sink's buffer).
   */
  writePacket(
    ifId: number,
    tsNs: number,
    bytes: Uint8Array,
    start = 0,
    end = bytes.length,
    opts?: PcapngPacketOptions,
  ): void {
    this.timeNs = tsNs;
    this.writeAtTime(ifId, bytes, start, end, opts);
  }

  /**
   * `writePacket` at `clock.now` ns. The hot path of a capture: a timestamp above 2^31 passed as an argument to
   * a call that is not inlined is a heap number per record, a clock object is not.
   */
  writePacketNow(
    ifId: number,
    clock: { readonly now: number },
    bytes: Uint8Array,
    start: number,
    end: number,
    opts?: PcapngPacketOptions,
  ): void {
    this.timeNs = clock.now;
    this.writeAtTime(ifId, bytes, start, end, opts);
  }

  /** The timestamp of the record being written (ns). */
  private timeNs = 0;

  /** The opt_comment option carrying `comment`, padded to 4 bytes. */
  private commentOption(comment: string): Uint8Array {
    let c = this.comments.get(comment);
    if (c === undefined) {
      const utf8 = Buffer.from(comment, 'utf8');
      if (utf8.length > MAX_OPTION_LEN)
        throw new EncodeError(
          'pcapng',
          `opt_comment is ${utf8.length} bytes; an option holds at most ${MAX_OPTION_LEN}`,
        );
      c = new Uint8Array(optionSize(utf8.length)); // zero padding included
      putU32LE(c, 0, OPT_COMMENT | (utf8.length << 16));
      c.set(utf8, 4);
      if (this.comments.size >= COMMENT_CACHE_MAX) this.comments.clear();
      this.comments.set(comment, c);
    }
    return c;
  }

  private writeAtTime(
    ifId: number,
    bytes: Uint8Array,
    start: number,
    end: number,
    opts: PcapngPacketOptions | undefined,
  ): void {
    const tsNs = this.timeNs;
    const snaplen = this.snaplens[ifId];
    if (snaplen === undefined) throw new EncodeError('pcapng', `interface ${ifId} was not added`);
    const len = end - start;
    const origLen = opts?.origLen ?? len;
    if (!(tsNs >= 0 && tsNs <= Number.MAX_SAFE_INTEGER))
      throw new EncodeError('pcapng', `timestamp ${tsNs} ns out of range`);
    if (len < 0 || origLen < len || origLen > 0xffffffff)
      throw new EncodeError('pcapng', `captured ${len} bytes but original length ${origLen}`);
    const capLen = Math.min(len, snaplen);
    const comment = opts?.comment;
    const commentOpt = comment ? this.commentOption(comment) : undefined;
    const flags =
      opts?.direction === 'inbound'
        ? EPB_DIRECTION_INBOUND
        : opts?.direction === 'outbound'
          ? EPB_DIRECTION_OUTBOUND
          : 0;
    let optsLen = 0;
    if (commentOpt !== undefined) optsLen += commentOpt.length;
    if (flags !== 0) optsLen += 8;
    if (optsLen > 0) optsLen += 4;
    const dataPadded = pad4(capLen);
    const total = BLOCK_OVERHEAD + EPB_FIXED + dataPadded + optsLen;
    const ts = this.nanosecond[ifId] ? Math.floor(tsNs) : Math.floor(tsNs / 1000);

    const sink = this.sink;
    const tsHigh = Math.floor(ts / 0x100000000);
    let o = sink.reserve(BLOCK_OVERHEAD - 4 + EPB_FIXED);
    let b = sink.buf;
    putU32LE(b, o, BLOCK_EPB);
    putU32LE(b, o + 4, total);
    putU32LE(b, o + 8, ifId);
    putU32LE(b, o + 12, tsHigh);
    putU32LE(b, o + 16, ts - tsHigh * 0x100000000);
    putU32LE(b, o + 20, capLen);
    putU32LE(b, o + 24, origLen);
    sink.write(bytes, start, start + capLen);
    // Padding, options and trailer in one reservation.
    o = sink.reserve(dataPadded - capLen + optsLen + 4);
    b = sink.buf;
    for (let i = capLen; i < dataPadded; i++) b[o++] = 0;
    if (commentOpt !== undefined) {
      b.set(commentOpt, o);
      o += commentOpt.length;
    }
    if (flags !== 0) {
      putU32LE(b, o, EPB_FLAGS | (4 << 16));
      putU32LE(b, o + 4, flags);
      o += 8;
    }
    if (optsLen > 0) {
      putU32LE(b, o, OPT_ENDOFOPT);
      o += 4;
    }
    putU32LE(b, o, total);
    this.packetCount++;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reader (tests and tools; allocates freely)

/** An interface as read from an IDB. */
export interface PcapngInterface {
  name?: string;
  description?: string;
  linktype: number;
  snaplen: number;
  /** Raw if_tsresol: 6 (the default, microseconds), 9 nanoseconds; high bit set = negative power of 2. */
  tsresol: number;
  /** if_tsoffset in seconds (0 when absent). Not included in packets' tsNs. */
  tsOffsetSec: number;
}

/** A packet from an EPB or SPB. `data` is a view into the input bytes. */
export interface PcapngPacket {
  /** Index into the reader's `interfaces` (across sections: ids of later sections are offset). */
  interfaceId: number;
  /** Timestamp in nanoseconds, without the interface's tsOffsetSec. Simple Packet Blocks have none: 0. */
  tsNs: number;
  data: Uint8Array;
  origLen: number;
  comment?: string;
  direction?: 'inbound' | 'outbound';
  /** Raw epb_flags when present. */
  flags?: number;
}

/** Convert a timestamp in if_tsresol units to nanoseconds. */
function unitsToNs(high: number, low: number, tsresol: number): number {
  if (tsresol === 9) return high * 0x100000000 + low;
  if (tsresol === 6) return (high * 0x100000000 + low) * 1000;
  const t = (BigInt(high) << 32n) | BigInt(low);
  const exp = BigInt(tsresol & 0x7f);
  if (tsresol & 0x80) return Number((t * 1_000_000_000n) / (1n << exp));
  return Number(exp <= 9n ? t * 10n ** (9n - exp) : t / 10n ** (exp - 9n));
}

/**
 * Streaming pcapng reader: yields packets block by block and fills `interfaces` as IDBs go by. Throws
 * DecodeError with 'bad-magic' (not a pcapng / bad byte-order magic), 'truncated' (file ends inside a block; the
 * offset is the block's start) or 'bad-block' (lengths that disagree; the offset is the offending field).
 */
export class PcapngReader implements Iterable<PcapngPacket> {
  readonly interfaces: PcapngInterface[] = [];
  /** shb_userappl of the first section, when present. */
  userAppl?: string;
  /** Byte order of the first section. */
  byteOrder?: 'little' | 'big';
  private readonly view: DataView;
  private readonly text = new TextDecoder('utf-8');

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  *[Symbol.iterator](): Iterator<PcapngPacket> {
    const v = this.view,
      size = this.bytes.length;
    let le = true;
    let sectionBase = 0; // interfaces of earlier sections
    let section = -1;
    let o = 0;
    if (size >= 4 && v.getUint32(0, true) !== BLOCK_SHB) {
      throw new DecodeError(
        fault(
          'pcapng',
          'bad-magic',
          0,
          `first block type 0x${v.getUint32(0, false).toString(16)} is not a section header`,
        ),
      );
    }
    if (size < BLOCK_OVERHEAD) throw new DecodeError(fault('pcapng', 'truncated', 0, `have ${size} bytes`));
    while (o < size) {
      if (size - o < 8)
        throw new DecodeError(fault('pcapng', 'truncated', o, `block header: have ${size - o} of 8 bytes`));
      // The SHB type reads the same in both byte orders; its magic says which order the section uses.
      if (v.getUint32(o, true) === BLOCK_SHB) {
        if (size - o < BLOCK_OVERHEAD) throw new DecodeError(fault('pcapng', 'truncated', o, 'section header'));
        const magic = v.getUint32(o + 8, true);
        if (magic === BYTE_ORDER_MAGIC) le = true;
        else if (magic === 0x4d3c2b1a) le = false;
        else throw new DecodeError(fault('pcapng', 'bad-magic', o + 8, `byte-order magic 0x${magic.toString(16)}`));
        sectionBase = this.interfaces.length;
        section++;
        if (section === 0) this.byteOrder = le ? 'little' : 'big';
      }
      const type = v.getUint32(o, le);
      const total = v.getUint32(o + 4, le);
      if (total < BLOCK_OVERHEAD || total % 4 !== 0) {
        throw new DecodeError(fault('pcapng', 'bad-block', o + 4, `block total length ${total}`));
      }
      if (size - o < total)
        throw new DecodeError(fault('pcapng', 'truncated', o, `block of ${total} bytes, ${size - o} present`));
      const trailer = v.getUint32(o + total - 4, le);
      if (trailer !== total)
        throw new DecodeError(fault('pcapng', 'bad-block', o + total - 4, `trailing length ${trailer} != ${total}`));
      const body = o + 8,
        bodyEnd = o + total - 4;

      if (type === BLOCK_SHB) {
        if (bodyEnd - body < 16)
          throw new DecodeError(fault('pcapng', 'bad-block', o + 4, 'section header shorter than 28 bytes'));
        const major = v.getUint16(body + 4, le);
        if (major !== 1) throw new DecodeError(fault('pcapng', 'unsupported', body + 4, `version ${major}`));
        this.forEachOption(body + 16, bodyEnd, le, (code, vo, vl) => {
          if (code === SHB_USERAPPL && section === 0) this.userAppl = this.str(vo, vl);
        });
      } else if (type === BLOCK_IDB) {
        if (bodyEnd - body < 8)
          throw new DecodeError(fault('pcapng', 'bad-block', o + 4, 'interface description shorter than 20 bytes'));
        const intf: PcapngInterface = {
          linktype: v.getUint16(body, le),
          snaplen: v.getUint32(body + 4, le),
          tsresol: 6,
          tsOffsetSec: 0,
        };
        this.forEachOption(body + 8, bodyEnd, le, (code, vo, vl) => {
          if (code === IF_NAME) intf.name = this.str(vo, vl);
          else if (code === IF_DESCRIPTION) intf.description = this.str(vo, vl);
          else if (code === IF_TSRESOL && vl >= 1) intf.tsresol = this.bytes[vo]!;
          else if (code === IF_TSOFFSET && vl >= 8) intf.tsOffsetSec = Number(v.getBigInt64(vo, le));
        });
        this.interfaces.push(intf);
      } else if (type === BLOCK_EPB) {
        if (bodyEnd - body < EPB_FIXED)
          throw new DecodeError(fault('pcapng', 'bad-block', o + 4, 'enhanced packet block shorter than 32 bytes'));
        const localId = v.getUint32(body, le);
        const intf = this.interfaces[sectionBase + localId];
        if (localId >= this.interfaces.length - sectionBase || !intf) {
          throw new DecodeError(fault('pcapng', 'bad-block', body, `interface ${localId} not described`));
        }
        const capLen = v.getUint32(body + 12, le);
        const origLen = v.getUint32(body + 16, le);
        const dataStart = body + EPB_FIXED;
        if (capLen > bodyEnd - dataStart)
          throw new DecodeError(fault('pcapng', 'bad-block', body + 12, `captured length ${capLen} > block`));
        const p: PcapngPacket = {
          interfaceId: sectionBase + localId,
          tsNs: unitsToNs(v.getUint32(body + 4, le), v.getUint32(body + 8, le), intf.tsresol),
          data: this.bytes.subarray(dataStart, dataStart + capLen),
          origLen,
        };
        this.forEachOption(dataStart + pad4(capLen), bodyEnd, le, (code, vo, vl) => {
          if (code === OPT_COMMENT) p.comment = this.str(vo, vl);
          else if (code === EPB_FLAGS && vl >= 4) {
            p.flags = v.getUint32(vo, le);
            const dir = p.flags & 3;
            if (dir === EPB_DIRECTION_INBOUND) p.direction = 'inbound';
            else if (dir === EPB_DIRECTION_OUTBOUND) p.direction = 'outbound';
          }
        });
        yield p;
      } else if (type === BLOCK_SPB) {
        const intf = this.interfaces[sectionBase];
        if (!intf || this.interfaces.length === sectionBase)
          throw new DecodeError(fault('pcapng', 'bad-block', o, 'simple packet block before any interface'));
        if (bodyEnd - body < 4)
          throw new DecodeError(fault('pcapng', 'bad-block', o + 4, 'simple packet block shorter than 16 bytes'));
        const origLen = v.getUint32(body, le);
        const capLen = intf.snaplen === 0 ? origLen : Math.min(origLen, intf.snaplen);
        if (capLen > bodyEnd - body - 4)
          throw new DecodeError(fault('pcapng', 'bad-block', body, `original length ${origLen} > block`));
        yield { interfaceId: sectionBase, tsNs: 0, data: this.bytes.subarray(body + 4, body + 4 + capLen), origLen };
      }
      // Any other block type (name resolution, statistics, custom, ...) is skipped.
      o += total;
    }
  }

  private str(offset: number, len: number): string {
    return this.text.decode(this.bytes.subarray(offset, offset + len));
  }

  /** Walk options in [o, end) until opt_endofopt; an option running past `end` is a bad block. */
  private forEachOption(
    o: number,
    end: number,
    le: boolean,
    fn: (code: number, valueOffset: number, valueLen: number) => void,
  ): void {
    const v = this.view;
    while (end - o >= 4) {
      const code = v.getUint16(o, le);
      const len = v.getUint16(o + 2, le);
      if (code === OPT_ENDOFOPT) return;
      if (o + 4 + pad4(len) > end)
        throw new DecodeError(
          fault('pcapng', 'bad-block', o + 2, `option ${code} of ${len} bytes runs past its block`),
        );
      fn(code, o + 4, len);
      o += 4 + pad4(len);
    }
  }
}

/** Read a whole pcapng file. Throws DecodeError on malformed input. */
export function readPcapng(bytes: Uint8Array): {
  byteOrder: 'little' | 'big';
  userAppl?: string;
  interfaces: PcapngInterface[];
  packets: PcapngPacket[];
} {
  const reader = new PcapngReader(bytes);
  const packets = [...reader];
  const result: ReturnType<typeof readPcapng> = {
    byteOrder: reader.byteOrder ?? 'little',
    interfaces: reader.interfaces,
    packets,
  };
  if (reader.userAppl !== undefined) result.userAppl = reader.userAppl;
  return result;
}
