/**
 * Classic libpcap capture files (draft-ietf-opsawg-pcap). One file header, then one record per packet:
 *
 *   File header (24 bytes)                      Record header (16 bytes), then incl_len bytes of data
 *   +---------------------------------+         +---------------------------------+
 *   | magic  a1b2c3d4 (us) / a1b23c4d (ns)      | ts_sec                          |
 *   +----------------+----------------+         +---------------------------------+
 *   | version_major=2| version_minor=4|         | ts_frac (us or ns, per magic)   |
 *   +----------------+----------------+         +---------------------------------+
 *   | thiszone (0)                    |         | incl_len (bytes in the file)    |
 *   | sigfigs (0)                     |         +---------------------------------+
 *   | snaplen                         |         | orig_len (bytes on the wire)    |
 *   | linktype (1 = Ethernet)         |         +---------------------------------+
 *   +---------------------------------+
 *
 * The writer is little endian (what tcpdump and Wireshark write on x86); the reader takes either byte order,
 * detected from how the magic reads. Timestamps are integer nanoseconds held in a JS number (exact below 2^53 ns,
 * about 104 days), which is what the virtual clock produces.
 */

import type { ByteSink } from './file-sink.js';
import { DecodeError, EncodeError, fault } from './errors.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
export const LINKTYPE_ETHERNET = 1;
/** tcpdump's default snap length, and the largest libpcap accepts for Ethernet. */
export const DEFAULT_SNAPLEN = 262144;

const MAGIC = 0,
  VERSION_MAJOR = 4,
  VERSION_MINOR = 6,
  THISZONE = 8,
  SIGFIGS = 12,
  SNAPLEN = 16,
  LINKTYPE = 20;
const TS_SEC = 0,
  TS_FRAC = 4,
  INCL_LEN = 8,
  ORIG_LEN = 12;

export interface PcapWriterOptions {
  /** Timestamp resolution: 'ns' (magic a1b23c4d, default, lossless for the virtual clock) or 'us' (a1b2c3d4). */
  resolution?: 'ns' | 'us';
  /** Packets longer than this are cut; their original length is kept. Default 262144. */
  snaplen?: number;
  /** Link-layer header type; default LINKTYPE_ETHERNET. */
  linktype?: number;
  /**
   * Whole seconds added to every ts_sec: the virtual clock starts at 0, this puts its zero at a wall-clock date
   * (classic pcap has no offset field, unlike pcapng's if_tsoffset). Default 0.
   */
  epochSeconds?: number;
}

/** Writes a classic pcap stream into a sink: the file header at construction, one record per writePacket. */
export class PcapWriter {
  readonly resolution: 'ns' | 'us';
  readonly snaplen: number;
  readonly linktype: number;
  readonly epochSeconds: number;
  /** Packets written so far. */
  packetCount = 0;

  constructor(
    readonly sink: ByteSink,
    opts: PcapWriterOptions = {},
  ) {
    this.resolution = opts.resolution ?? 'ns';
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    this.linktype = opts.linktype ?? LINKTYPE_ETHERNET;
    this.epochSeconds = opts.epochSeconds ?? 0;
    if (!(this.snaplen > 0 && this.snaplen <= 0xffffffff))
      throw new EncodeError('pcap', `snaplen ${this.snaplen} out of range`);
    if (!(Number.isInteger(this.epochSeconds) && this.epochSeconds >= 0 && this.epochSeconds <= 0xffffffff)) {
      throw new EncodeError('pcap', `epochSeconds ${this.epochSeconds} is not a whole number of seconds in 0..2^32-1`);
    }
    const o = sink.reserve(PCAP_HEADER_LEN);
    const b = sink.buf;
    b.writeUInt32LE(this.resolution === 'ns' ? PCAP_MAGIC_NS : PCAP_MAGIC_US, o + MAGIC);
    b.writeUInt16LE(2, o + VERSION_MAJOR);
    b.writeUInt16LE(4, o + VERSION_MINOR);
    b.writeInt32LE(0, o + THISZONE);
    b.writeUInt32LE(0, o + SIGFIGS);
    b.writeUInt32LE(this.snaplen, o + SNAPLEN);
    b.writeUInt32LE(this.linktype, o + LINKTYPE);
  }

  /**
   * Append one packet: `bytes[start, end)` captured at `tsNs` (integer nanoseconds). Bytes past the snaplen are
   * cut; `origLen` (default: the whole range) is the length on the wire and may not be less than the range.
   * Allocates nothing itself (see copyInto in file-sink.ts for the copy).
   */
  writePacket(tsNs: number, bytes: Uint8Array, start = 0, end = bytes.length, origLen = end - start): void {
    const len = end - start;
    if (len < 0 || origLen < len || origLen > 0xffffffff)
      throw new EncodeError('pcap', `captured ${len} bytes but original length ${origLen}`);
    const sec = Math.floor(tsNs / 1e9);
    if (!(tsNs >= 0 && sec + this.epochSeconds <= 0xffffffff))
      throw new EncodeError('pcap', `timestamp ${tsNs} ns out of range`);
    const ns = Math.floor(tsNs - sec * 1e9);
    const capLen = Math.min(len, this.snaplen);
    const sink = this.sink;
    const o = sink.reserve(PCAP_RECORD_HEADER_LEN);
    const b = sink.buf;
    b.writeUInt32LE(sec + this.epochSeconds, o + TS_SEC);
    b.writeUInt32LE(this.resolution === 'ns' ? ns : Math.floor(ns / 1000), o + TS_FRAC);
    b.writeUInt32LE(capLen, o + INCL_LEN);
    b.writeUInt32LE(origLen, o + ORIG_LEN);
    sink.write(bytes, start, start + capLen);
    this.packetCount++;
  }
}

/** The file header as read. */
export interface PcapFileHeader {
  byteOrder: 'little' | 'big';
  resolution: 'ns' | 'us';
  versionMajor: number;
  versionMinor: number;
  thiszone: number;
  sigfigs: number;
  snaplen: number;
  /** Link type (the low 16 bits of the field; the high bits carry FCS information). */
  linktype: number;
}

/** One packet record. `data` is a view into the input bytes, not a copy. */
export interface PcapPacket {
  /** Timestamp in nanoseconds (exact below 2^53: real-world epoch timestamps lose sub-microsecond digits). */
  tsNs: number;
  data: Uint8Array;
  /** Length on the wire (>= data.length when the capture was cut at the snaplen). */
  origLen: number;
}

/**
 * Streaming reader: parses the file header on construction (throws DecodeError) and yields one record at a
 * time, so a caller can walk a large capture without holding every packet.
 */
export class PcapReader implements Iterable<PcapPacket> {
  readonly header: PcapFileHeader;
  private readonly view: DataView;
  private readonly le: boolean;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4)
      throw new DecodeError(fault('pcap', 'truncated', 0, `file header: have ${bytes.length} of 24 bytes`));
    const magicLe = this.view.getUint32(MAGIC, true);
    const magicBe = this.view.getUint32(MAGIC, false);
    let resolution: 'ns' | 'us';
    if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS) {
      this.le = true;
      resolution = magicLe === PCAP_MAGIC_NS ? 'ns' : 'us';
    } else if (magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS) {
      this.le = false;
      resolution = magicBe === PCAP_MAGIC_NS ? 'ns' : 'us';
    } else {
      throw new DecodeError(fault('pcap', 'bad-magic', 0, `magic 0x${magicBe.toString(16).padStart(8, '0')}`));
    }
    if (bytes.length < PCAP_HEADER_LEN)
      throw new DecodeError(fault('pcap', 'truncated', 0, `file header: have ${bytes.length} of 24 bytes`));
    const v = this.view,
      le = this.le;
    this.header = {
      byteOrder: le ? 'little' : 'big',
      resolution,
      versionMajor: v.getUint16(VERSION_MAJOR, le),
      versionMinor: v.getUint16(VERSION_MINOR, le),
      thiszone: v.getInt32(THISZONE, le),
      sigfigs: v.getUint32(SIGFIGS, le),
      snaplen: v.getUint32(SNAPLEN, le),
      linktype: v.getUint32(LINKTYPE, le) & 0xffff,
    };
  }

  *[Symbol.iterator](): Iterator<PcapPacket> {
    const v = this.view,
      le = this.le,
      size = this.bytes.length;
    const fracToNs = this.header.resolution === 'ns' ? 1 : 1000;
    // libpcap rejects records larger than the bigger of the file's snaplen and its own maximum.
    const maxCapLen = Math.max(this.header.snaplen, DEFAULT_SNAPLEN);
    let o = PCAP_HEADER_LEN;
    while (o < size) {
      if (size - o < PCAP_RECORD_HEADER_LEN)
        throw new DecodeError(fault('pcap', 'truncated', o, `record header: have ${size - o} of 16 bytes`));
      const capLen = v.getUint32(o + INCL_LEN, le);
      const origLen = v.getUint32(o + ORIG_LEN, le);
      if (capLen > maxCapLen)
        throw new DecodeError(fault('pcap', 'bad-length', o + INCL_LEN, `incl_len ${capLen} > snaplen ${maxCapLen}`));
      if (capLen > origLen)
        throw new DecodeError(fault('pcap', 'bad-length', o + INCL_LEN, `incl_len ${capLen} > orig_len ${origLen}`));
      const dataStart = o + PCAP_RECORD_HEADER_LEN;
      if (size - dataStart < capLen)
        throw new DecodeError(
          fault('pcap', 'truncated', o, `record data: have ${size - dataStart} of ${capLen} bytes`),
        );
      const tsNs = v.getUint32(o + TS_SEC, le) * 1e9 + v.getUint32(o + TS_FRAC, le) * fracToNs;
      yield { tsNs, data: this.bytes.subarray(dataStart, dataStart + capLen), origLen };
      o = dataStart + capLen;
    }
  }
}

/** Read a whole pcap file (either byte order, either resolution). Throws DecodeError on malformed input. */
export function readPcap(bytes: Uint8Array): { header: PcapFileHeader; packets: PcapPacket[] } {
  const reader = new PcapReader(bytes);
  return { header: reader.header, packets: [...reader] };
}
