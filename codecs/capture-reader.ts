/**
 * Streaming reader for capture files other tools wrote: classic pcap (either byte order, micro- or nanosecond
 * magic) and pcapng (any number of sections, each in its own byte order; any number of interfaces; Enhanced,
 * Simple and obsolete Packet Blocks; if_tsresol and if_tsoffset; unknown blocks skipped by their length).
 *
 * Memory stays bounded whatever the file claims: the file is read through one fixed window, a record is read
 * only after its length was checked against the bytes left in the file, its snaplen and MAX_RECORD_BYTES, and a
 * block the reader does not need (unknown types, oversized option areas) is never read, only its trailing length.
 * (pcap.ts / pcapng.ts hold whole files in memory and serve tests and tools; this one serves `packetwalk replay`.)
 *
 * Malformed input throws DecodeError with a Fault whose offset is the byte offset in the file:
 *   'truncated'  the file ends inside a header, record or block (offset: where that record/block starts)
 *   'bad-magic'  not a pcap/pcapng file, or a section's byte-order magic is unknown
 *   'bad-block'  a pcapng block length that is not a multiple of 4, disagrees with its trailing copy (offset:
 *                the block's start), or is too small for its fixed fields; a packet block for an undescribed interface
 *   'bad-length' a record longer than its snaplen or than MAX_RECORD_BYTES
 *   'unsupported' a pcapng major version other than 1
 * Records read before the fault were already returned: a caller that processes records as they come loses nothing.
 */

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DecodeError, fault } from './errors.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap.js';
import {
  BLOCK_EPB,
  BLOCK_IDB,
  BLOCK_SHB,
  BLOCK_SPB,
  BYTE_ORDER_MAGIC,
  EPB_FLAGS,
  IF_TSOFFSET,
  IF_TSRESOL,
} from './pcapng.js';

/** Largest record the reader accepts (libpcap's MAXIMUM_SNAPLEN, 256 KiB): anything longer is a broken file. */
export const MAX_RECORD_BYTES = 256 * 1024;
/** Obsolete pcapng Packet Block (pcapng draft, appendix). */
export const BLOCK_PB = 2;
/** Option areas longer than this are skipped unread (a comment or two is far smaller). */
const MAX_OPTIONS_READ = 64 * 1024;
/** Interfaces per pcapng section the reader keeps (each IDB costs memory; real files have a handful). */
const MAX_INTERFACES = 65536;
/** The read window: one record plus headers, options and trailer always fit. */
const WINDOW = MAX_RECORD_BYTES + MAX_OPTIONS_READ + 64 * 1024;

/** Random access to the bytes of a capture (a file, or memory in tests). */
export interface ByteSource {
  readonly size: number;
  /** Copy up to `length` bytes at `position` into `into[offset..]`; returns the count copied. */
  read(position: number, into: Uint8Array, offset: number, length: number): number;
}

/** A capture held in memory. */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(position, into, offset, length) {
      const n = Math.max(0, Math.min(length, bytes.length - position));
      into.set(bytes.subarray(position, position + n), offset);
      return n;
    },
  };
}

/** A capture file opened for reading (close it when done). */
export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }
  read(position: number, into: Uint8Array, offset: number, length: number): number {
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, into, offset + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** One packet record. `data` is a view into the reader's window: valid until the next call to `next()`. */
export interface CaptureRecord {
  /** 1-based record number in the file (as Wireshark numbers frames). */
  number: number;
  /** Byte offset of the record header / block in the file. */
  offset: number;
  /** Link-layer header type of the record's interface (LINKTYPE_*). */
  linktype: number;
  /** Interface index across the file (pcap: always 0). */
  interfaceId: number;
  /** Timestamp as whole seconds (with if_tsoffset) and nanoseconds within that second. */
  tsSec: number;
  tsNsec: number;
  /** False for Simple Packet Blocks, which carry no timestamp. */
  hasTimestamp: boolean;
  data: Uint8Array;
  /** Length on the wire (>= data.length when the capture was cut at its snaplen). */
  origLen: number;
  /** pcapng epb_flags direction, when the writer recorded one. */
  direction?: 'inbound' | 'outbound';
}

interface Interface {
  linktype: number;
  snaplen: number;
  tsresol: number;
  tsOffsetSec: number;
}

export type CaptureFormat = 'pcap' | 'pcapng';

/**
 * Reads a capture record by record. The constructor reads the file header (throws DecodeError on an empty file
 * or an unknown magic); `next()` returns the next packet record or null at the end of the file.
 */
export class CaptureReader {
  readonly format: CaptureFormat;
  /** pcap: the file's byte order; pcapng: the first section's. */
  readonly byteOrder: 'little' | 'big';
  /** pcap: the file header's snaplen and link type. */
  readonly snaplen: number = 0;
  readonly linktype: number = 0;
  /** pcap: timestamp resolution from the magic. */
  readonly resolution: 'us' | 'ns' = 'us';
  /** pcapng sections seen so far. */
  sections = 0;
  /** pcapng blocks skipped (unknown types). */
  skippedBlocks = 0;

  private readonly win = Buffer.allocUnsafe(WINDOW);
  private winStart = 0;
  private winLen = 0;
  private pos: number;
  private le: boolean;
  private count = 0;
  /** pcapng: interfaces of earlier sections (ids keep counting across sections) and of the current one. */
  private ifBase = 0;
  private interfaces: Interface[] = [];
  private readonly layer: string;

  constructor(readonly source: ByteSource) {
    const size = source.size;
    if (size === 0) throw new DecodeError(fault('capture', 'truncated', 0, 'empty file'));
    if (size < 4) throw new DecodeError(fault('capture', 'truncated', 0, `file header: have ${size} bytes`));
    const o = this.at(0, 4);
    const magicLe = this.win.readUInt32LE(o),
      magicBe = this.win.readUInt32BE(o);
    if (magicLe === BLOCK_SHB) {
      this.format = 'pcapng';
      this.layer = 'pcapng';
      this.pos = 0;
      this.le = true;
      if (size < 12) throw new DecodeError(fault('pcapng', 'truncated', 0, `section header: have ${size} of 28 bytes`));
      const m = this.win.readUInt32LE(this.at(8, 4));
      this.le = m === BYTE_ORDER_MAGIC;
      this.byteOrder = this.le ? 'little' : 'big';
      return;
    }
    this.format = 'pcap';
    this.layer = 'pcap';
    if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS) this.le = true;
    else if (magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS) this.le = false;
    else
      throw new DecodeError(
        fault(
          'capture',
          'bad-magic',
          0,
          `magic 0x${magicBe.toString(16).padStart(8, '0')} is neither pcap (a1b2c3d4, a1b23c4d) nor pcapng (0a0d0d0a)`,
        ),
      );
    this.byteOrder = this.le ? 'little' : 'big';
    this.resolution = (this.le ? magicLe : magicBe) === PCAP_MAGIC_NS ? 'ns' : 'us';
    if (size < 24) throw new DecodeError(fault('pcap', 'truncated', 0, `file header: have ${size} of 24 bytes`));
    const h = this.at(0, 24);
    this.snaplen = this.u32(h + 16);
    // The top bits of the link type field carry FCS information (pcap draft, LinkType and additional information).
    this.linktype = this.u32(h + 20) & 0x03ffffff;
    this.pos = 24;
  }

  /** Records returned so far. */
  get records(): number {
    return this.count;
  }

  /** The next packet record, or null at the end of the file. Throws DecodeError at the first broken byte. */
  next(): CaptureRecord | null {
    return this.format === 'pcap' ? this.nextPcap() : this.nextPcapng();
  }

  // ---------------------------------------------------------------- window

  /** Make [position, position + length) readable in the window (length <= WINDOW, checked against the size by the caller). */
  private at(position: number, length: number): number {
    if (position >= this.winStart && position + length <= this.winStart + this.winLen) return position - this.winStart;
    const want = Math.min(WINDOW, this.source.size - position);
    this.winStart = position;
    this.winLen = this.source.read(position, this.win, 0, want);
    if (this.winLen < length)
      throw new DecodeError(fault(this.layer, 'truncated', position, `could read ${this.winLen} of ${length} bytes`));
    return 0;
  }

  private u16(o: number): number {
    return this.le ? this.win.readUInt16LE(o) : this.win.readUInt16BE(o);
  }

  private u32(o: number): number {
    return this.le ? this.win.readUInt32LE(o) : this.win.readUInt32BE(o);
  }

  // ---------------------------------------------------------------- pcap

  private nextPcap(): CaptureRecord | null {
    const size = this.source.size,
      o = this.pos;
    if (o >= size) return null;
    if (size - o < 16)
      throw new DecodeError(fault('pcap', 'truncated', o, `record header: have ${size - o} of 16 bytes`));
    const h = this.at(o, 16);
    const tsSec = this.u32(h),
      frac = this.u32(h + 4),
      capLen = this.u32(h + 8),
      origLen = this.u32(h + 12);
    if (capLen > MAX_RECORD_BYTES)
      throw new DecodeError(fault('pcap', 'bad-length', o + 8, `incl_len ${capLen} > ${MAX_RECORD_BYTES} (256 KiB)`));
    if (this.snaplen > 0 && capLen > this.snaplen)
      throw new DecodeError(fault('pcap', 'bad-length', o + 8, `incl_len ${capLen} > snaplen ${this.snaplen}`));
    if (size - o - 16 < capLen)
      throw new DecodeError(fault('pcap', 'truncated', o, `record data: have ${size - o - 16} of ${capLen} bytes`));
    if (this.resolution === 'us' ? frac >= 1_000_000 : frac >= 1_000_000_000) {
      throw new DecodeError(fault('pcap', 'bad-length', o + 4, `fraction ${frac} is not below one second`));
    }
    const d = this.at(o + 16, capLen);
    this.pos = o + 16 + capLen;
    return {
      number: ++this.count,
      offset: o,
      linktype: this.linktype,
      interfaceId: 0,
      tsSec,
      tsNsec: this.resolution === 'us' ? frac * 1000 : frac,
      hasTimestamp: true,
      data: this.win.subarray(d, d + capLen),
      origLen: Math.max(origLen, capLen),
    };
  }

  // ---------------------------------------------------------------- pcapng

  private nextPcapng(): CaptureRecord | null {
    const size = this.source.size;
    for (;;) {
      const o = this.pos;
      if (o >= size) return null;
      if (size - o < 12)
        throw new DecodeError(fault('pcapng', 'truncated', o, `block header: have ${size - o} of 12 bytes`));
      let h = this.at(o, 12);
      // The SHB type reads the same in both byte orders; its magic says which order the section uses.
      if (this.win.readUInt32LE(h) === BLOCK_SHB) {
        const m = this.win.readUInt32LE(h + 8);
        if (m === BYTE_ORDER_MAGIC) this.le = true;
        else if (m === 0x4d3c2b1a) this.le = false;
        else throw new DecodeError(fault('pcapng', 'bad-magic', o + 8, `byte-order magic 0x${m.toString(16)}`));
      } else if (this.sections === 0) {
        throw new DecodeError(fault('pcapng', 'bad-block', o, 'the file does not start with a section header block'));
      }
      const type = this.u32(h),
        total = this.u32(h + 4);
      if (total < 12 || total % 4 !== 0)
        throw new DecodeError(
          fault('pcapng', 'bad-block', o + 4, `block total length ${total} (must be a multiple of 4, at least 12)`),
        );
      if (total > size - o)
        throw new DecodeError(
          fault(
            'pcapng',
            'truncated',
            o,
            `block type 0x${type.toString(16)} says ${total} bytes, ${size - o} left in the file`,
          ),
        );
      const trailer = this.u32(this.at(o + total - 4, 4));
      if (trailer !== total)
        throw new DecodeError(
          fault(
            'pcapng',
            'bad-block',
            o,
            `block total length ${total} disagrees with its trailing copy ${trailer} at byte ${o + total - 4}`,
          ),
        );
      const body = o + 8,
        bodyLen = total - 12;
      this.pos = o + total;
      switch (type) {
        case BLOCK_SHB: {
          if (bodyLen < 16)
            throw new DecodeError(fault('pcapng', 'bad-block', o + 4, 'section header shorter than 28 bytes'));
          h = this.at(body, 16);
          const major = this.u16(h + 4);
          if (major !== 1)
            throw new DecodeError(fault('pcapng', 'unsupported', body + 4, `version ${major}.${this.u16(h + 6)}`));
          this.ifBase += this.interfaces.length;
          this.interfaces = [];
          this.sections++;
          continue;
        }
        case BLOCK_IDB: {
          if (bodyLen < 8)
            throw new DecodeError(fault('pcapng', 'bad-block', o + 4, 'interface description shorter than 20 bytes'));
          if (this.interfaces.length >= MAX_INTERFACES)
            throw new DecodeError(
              fault('pcapng', 'unsupported', o, `more than ${MAX_INTERFACES} interfaces in one section`),
            );
          h = this.at(body, 8);
          const intf: Interface = { linktype: this.u16(h), snaplen: this.u32(h + 4), tsresol: 6, tsOffsetSec: 0 };
          this.options(body + 8, o + total - 4, (code, vo, vl) => {
            if (code === IF_TSRESOL && vl >= 1) intf.tsresol = this.win[vo]!;
            else if (code === IF_TSOFFSET && vl >= 8)
              intf.tsOffsetSec = Number(this.le ? this.win.readBigInt64LE(vo) : this.win.readBigInt64BE(vo));
          });
          this.interfaces.push(intf);
          continue;
        }
        case BLOCK_EPB:
        case BLOCK_PB: {
          if (bodyLen < 20)
            throw new DecodeError(
              fault(
                'pcapng',
                'bad-block',
                o + 4,
                `${type === BLOCK_EPB ? 'enhanced packet' : 'packet'} block shorter than 32 bytes`,
              ),
            );
          h = this.at(body, 20);
          const id = type === BLOCK_EPB ? this.u32(h) : this.u16(h);
          const high = this.u32(h + 4),
            low = this.u32(h + 8),
            capLen = this.u32(h + 12),
            origLen = this.u32(h + 16);
          const intf = this.packetInterface(id, body);
          this.checkCapLen(capLen, intf, body + 12, bodyLen - 20, o);
          const dataPos = body + 20;
          const optStart = dataPos + ((capLen + 3) & ~3);
          let direction: 'inbound' | 'outbound' | undefined;
          if (type === BLOCK_EPB) {
            this.options(optStart, o + total - 4, (code, vo, vl) => {
              if (code === EPB_FLAGS && vl >= 4) {
                const dir = this.u32(vo) & 3;
                direction = dir === 1 ? 'inbound' : dir === 2 ? 'outbound' : undefined;
              }
            });
          }
          const d = this.at(dataPos, capLen);
          const rec = this.record(o, id, intf, capLen, origLen, d);
          this.stamp(rec, high, low, intf);
          if (direction) rec.direction = direction;
          return rec;
        }
        case BLOCK_SPB: {
          if (bodyLen < 4)
            throw new DecodeError(fault('pcapng', 'bad-block', o + 4, 'simple packet block shorter than 16 bytes'));
          const intf = this.packetInterface(0, o);
          const origLen = this.u32(this.at(body, 4));
          // The captured length of an SPB is implied: the original length cut at the interface's snaplen.
          const capLen = intf.snaplen > 0 ? Math.min(origLen, intf.snaplen) : origLen;
          this.checkCapLen(capLen, intf, body, bodyLen - 4, o);
          const d = this.at(body + 4, capLen);
          const rec = this.record(o, 0, intf, capLen, origLen, d);
          rec.hasTimestamp = false;
          return rec;
        }
        default:
          // Name resolution, interface statistics, decryption secrets, custom blocks...: not packets.
          this.skippedBlocks++;
          continue;
      }
    }
  }

  private packetInterface(localId: number, at: number): Interface {
    const intf = this.interfaces[localId];
    if (!intf)
      throw new DecodeError(
        fault(
          'pcapng',
          'bad-block',
          at,
          `interface ${localId} is not described in this section (${this.interfaces.length} interfaces)`,
        ),
      );
    return intf;
  }

  private checkCapLen(capLen: number, intf: Interface, at: number, room: number, blockStart: number): void {
    if (capLen > MAX_RECORD_BYTES)
      throw new DecodeError(
        fault('pcapng', 'bad-length', at, `captured length ${capLen} > ${MAX_RECORD_BYTES} (256 KiB)`),
      );
    if (intf.snaplen > 0 && capLen > intf.snaplen)
      throw new DecodeError(fault('pcapng', 'bad-length', at, `captured length ${capLen} > snaplen ${intf.snaplen}`));
    if (capLen > room)
      throw new DecodeError(
        fault(
          'pcapng',
          'bad-block',
          at,
          `captured length ${capLen} does not fit the block at ${blockStart} (${room} bytes for data)`,
        ),
      );
  }

  private record(
    o: number,
    localId: number,
    intf: Interface,
    capLen: number,
    origLen: number,
    d: number,
  ): CaptureRecord {
    return {
      number: ++this.count,
      offset: o,
      linktype: intf.linktype,
      interfaceId: this.ifBase + localId,
      tsSec: 0,
      tsNsec: 0,
      hasTimestamp: true,
      data: this.win.subarray(d, d + capLen),
      origLen: Math.max(origLen, capLen),
    };
  }

  /** Timestamp in if_tsresol units (64 bits as high/low) -> seconds + nanoseconds. */
  private stamp(rec: CaptureRecord, high: number, low: number, intf: Interface): void {
    const r = intf.tsresol;
    const units = high * 0x100000000 + low;
    if (r === 6 && units <= Number.MAX_SAFE_INTEGER) {
      const sec = Math.floor(units / 1e6);
      rec.tsSec = sec + intf.tsOffsetSec;
      rec.tsNsec = (units - sec * 1e6) * 1000;
      return;
    }
    // Nanoseconds since 1970 exceed 2^53: exact integer arithmetic (SPBs and µs files never get here).
    const t = (BigInt(high) << 32n) | BigInt(low);
    const exp = BigInt(r & 0x7f);
    const perSec = r & 0x80 ? 1n << exp : 10n ** exp;
    const sec = t / perSec;
    rec.tsSec = Number(sec) + intf.tsOffsetSec;
    rec.tsNsec = Number(((t - sec * perSec) * 1_000_000_000n) / perSec);
  }

  /** Walk options in [o, end) until opt_endofopt; an area larger than MAX_OPTIONS_READ is skipped unread. */
  private options(o: number, end: number, fn: (code: number, valueOffset: number, valueLen: number) => void): void {
    if (end - o < 4 || end - o > MAX_OPTIONS_READ) return;
    const base = this.at(o, end - o) - o;
    while (end - o >= 4) {
      const code = this.u16(base + o),
        len = this.u16(base + o + 2);
      if (code === 0) return;
      if (o + 4 + ((len + 3) & ~3) > end)
        throw new DecodeError(
          fault('pcapng', 'bad-block', o + 2, `option ${code} of ${len} bytes runs past its block`),
        );
      fn(code, base + o + 4, len);
      o += 4 + ((len + 3) & ~3);
    }
  }
}
