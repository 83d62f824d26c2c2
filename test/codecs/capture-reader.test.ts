/**
 * The streaming capture reader on files other tools wrote (test/fixtures/captures: Scapy, editcap, mergecap and
 * a documented byte-swap script), on hand-made broken files, and against the whole-file pcap/pcapng readers.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CaptureReader,
  FileSource,
  MAX_RECORD_BYTES,
  memorySource,
  type CaptureRecord,
} from '../../codecs/capture-reader.js';
import { DecodeError, type Fault } from '../../codecs/errors.js';
import {
  decodeLinkLayer,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  newLinkLayerInfo,
  PACKET_HOST,
  PACKET_OUTGOING,
} from '../../codecs/link-layer.js';
import { readPcap } from '../../codecs/pcap.js';
import { readPcapng } from '../../codecs/pcapng.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'captures');
const fixture = (name: string) => readFileSync(join(DIR, name));

interface Rec {
  number: number;
  offset: number;
  linktype: number;
  interfaceId: number;
  relNs: number;
  hex: string;
  origLen: number;
  direction?: string;
}

/** Every record (copied: the reader reuses its window), timestamps relative to the first. */
function readAll(bytes: Uint8Array): { reader: CaptureReader; records: Rec[] } {
  const reader = new CaptureReader(memorySource(bytes));
  const out: Rec[] = [];
  let first: CaptureRecord | undefined;
  for (let r = reader.next(); r; r = reader.next()) {
    first ??= { ...r };
    const rec: Rec = {
      number: r.number,
      offset: r.offset,
      linktype: r.linktype,
      interfaceId: r.interfaceId,
      relNs: (r.tsSec - first.tsSec) * 1e9 + (r.tsNsec - first.tsNsec),
      hex: Buffer.from(r.data).toString('hex'),
      origLen: r.origLen,
    };
    if (r.direction) rec.direction = r.direction;
    out.push(rec);
  }
  return { reader, records: out };
}

function faultOf(bytes: Uint8Array): { fault: Fault; before: number } {
  let before = 0;
  try {
    const reader = new CaptureReader(memorySource(bytes));
    while (reader.next()) before++;
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return { fault: (e as DecodeError).fault, before };
  }
  throw new Error('no fault');
}

const SYN_VARIANTS = [
  'pod-syn-to-service.pcap',
  'pod-syn-to-service-ns.pcap',
  'pod-syn-to-service-be-ns.pcap',
  'pod-syn-to-service-from-pcapng.pcap',
  'pod-syn-to-service.pcapng',
  'pod-syn-to-service-ns.pcapng',
  'pod-syn-to-service-be.pcapng',
];

describe('CaptureReader on captures written by Scapy and editcap', () => {
  const ref = readAll(fixture('pod-syn-to-service.pcap')).records;

  it('reads the Scapy pcap as the whole-file reader does', () => {
    const whole = readPcap(fixture('pod-syn-to-service.pcap'));
    expect(ref.map((r) => r.hex)).toEqual(whole.packets.map((p) => Buffer.from(p.data).toString('hex')));
    expect(ref.map((r) => r.relNs)).toEqual([0, 250_000, 500_000, 750_000, 1_000_000]);
    expect(ref.map((r) => r.offset)).toEqual([24, 82, 140, 214, 288]);
  });

  it.each(SYN_VARIANTS)('%s: same frames and relative times in every format, byte order and resolution', (name) => {
    const { reader, records } = readAll(fixture(name));
    expect(records.map((r) => [r.number, r.linktype, r.relNs, r.hex])).toEqual(
      ref.map((r) => [r.number, r.linktype, r.relNs, r.hex]),
    );
    expect(reader.format).toBe(name.endsWith('.pcapng') ? 'pcapng' : 'pcap');
    expect(reader.byteOrder).toBe(name.includes('-be') ? 'big' : 'little');
    if (reader.format === 'pcap') expect(reader.resolution).toBe(name.includes('ns') ? 'ns' : 'us');
  });

  it('agrees with the whole-file pcapng reader, and reads the same from a file as from memory', () => {
    const name = 'pod-syn-to-service-ns.pcapng';
    const whole = readPcapng(fixture(name));
    const { records } = readAll(fixture(name));
    expect(records.map((r) => r.hex)).toEqual(whole.packets.map((p) => Buffer.from(p.data).toString('hex')));
    const src = new FileSource(join(DIR, name));
    const reader = new CaptureReader(src);
    const fromFile: string[] = [];
    for (let r = reader.next(); r; r = reader.next()) fromFile.push(Buffer.from(r.data).toString('hex'));
    src.close();
    expect(fromFile).toEqual(records.map((r) => r.hex));
  });

  it('reads two sections of different byte orders, interface ids counting on across sections', () => {
    const { reader, records } = readAll(fixture('two-sections.pcapng'));
    expect(reader.sections).toBe(2);
    expect(records.map((r) => r.interfaceId)).toEqual([0, 0, 0, 0, 0, 1]);
    expect(records.slice(0, 5).map((r) => r.hex)).toEqual(ref.map((r) => r.hex));
    expect(records[5]!.hex).toBe(readAll(fixture('pod-ttl1.pcap')).records[0]!.hex);
  });

  it('reads per-interface link types (mergecap: Ethernet + 802.11 radiotap)', () => {
    const { records } = readAll(fixture('mixed-linktypes.pcapng'));
    expect(records.map((r) => r.linktype).sort()).toEqual([1, 1, 127]);
  });

  it("decodes Scapy's Linux cooked v1 and v2 records: direction, sender MAC, EtherType, the same IP bytes", () => {
    for (const [name, lt] of [
      ['pod-syn-to-service-cooked-v1.pcap', LINKTYPE_LINUX_SLL],
      ['pod-syn-to-service-cooked-v2.pcap', LINKTYPE_LINUX_SLL2],
      ['pod-syn-to-service-cooked-v2-be.pcapng', LINKTYPE_LINUX_SLL2],
    ] as const) {
      const reader = new CaptureReader(memorySource(fixture(name)));
      const info = newLinkLayerInfo();
      const types: number[] = [];
      let i = 0;
      for (let r = reader.next(); r; r = reader.next(), i++) {
        expect(r.linktype).toBe(lt);
        expect(decodeLinkLayer(r.linktype, r.data, info)).toBeNull();
        types.push(info.packetType);
        expect(Buffer.from(r.data.subarray(info.payloadOffset)).toString('hex')).toBe(ref[i]!.hex.slice(28));
        expect(info.ethertype).toBe(parseInt(ref[i]!.hex.slice(24, 28), 16));
        expect(info.senderMac).toBe(parseInt(ref[i]!.hex.slice(12, 24), 16));
      }
      expect(types).toEqual([PACKET_OUTGOING, PACKET_HOST, PACKET_OUTGOING, PACKET_HOST, PACKET_OUTGOING]);
    }
  });
});

describe('CaptureReader on broken captures: the fault names the byte, records before it are returned', () => {
  it.each([
    ['broken-empty.pcap', 'truncated', 0, 0],
    ['broken-bad-magic.pcap', 'bad-magic', 0, 0],
    ['broken-truncated.pcap', 'truncated', 288, 4], // cut inside record 5's data
    ['broken-lying-block.pcapng', 'bad-block', 204, 1], // the second EPB's length disagrees with its trailer
    ['broken-over-snaplen.pcap', 'bad-length', 24 + 58 + 58 + 74 + 8, 3], // incl_len 1514 > snaplen 1000
  ])('%s -> %s at byte %i after %i records', (name, code, offset, before) => {
    const f = faultOf(fixture(name));
    expect([f.fault.code, f.fault.offset, f.before]).toEqual([code, offset, before]);
  });

  const pcapHeader = (snaplen: number) => {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(0xa1b2c3d4, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt16LE(4, 6);
    b.writeUInt32LE(snaplen, 16);
    b.writeUInt32LE(1, 20);
    return b;
  };
  const record = (capLen: number, dataLen = capLen) => {
    const b = Buffer.alloc(16 + dataLen);
    b.writeUInt32LE(capLen, 8);
    b.writeUInt32LE(capLen, 12);
    return b;
  };

  it('never trusts a length field: absurd lengths are faults, not allocations', () => {
    // A record claiming 4 GiB with snaplen 0 (unlimited): the 256 KiB cap answers first.
    let f = faultOf(Buffer.concat([pcapHeader(0), record(0xffffffff, 10)]));
    expect([f.fault.code, f.fault.offset]).toEqual(['bad-length', 32]);
    // Exactly 256 KiB is accepted; one byte more is not.
    const big = Buffer.concat([pcapHeader(0), record(MAX_RECORD_BYTES)]);
    expect(readAll(big).records[0]!.hex.length).toBe(2 * MAX_RECORD_BYTES);
    f = faultOf(Buffer.concat([pcapHeader(0), record(MAX_RECORD_BYTES + 1)]));
    expect(f.fault.code).toBe('bad-length');
    // A pcapng block claiming 4 GiB - 4 in a 40-byte file.
    const shb = fixture('pod-syn-to-service.pcapng');
    const shbLen = shb.readUInt32LE(4);
    const liar = Buffer.alloc(12);
    liar.writeUInt32LE(6, 0);
    liar.writeUInt32LE(0xfffffffc, 4);
    f = faultOf(Buffer.concat([shb.subarray(0, shbLen), liar]));
    expect([f.fault.code, f.fault.offset]).toEqual(['truncated', shbLen]);
    // A block length that is not a multiple of 4.
    liar.writeUInt32LE(13, 4);
    f = faultOf(Buffer.concat([shb.subarray(0, shbLen), liar]));
    expect([f.fault.code, f.fault.offset]).toEqual(['bad-block', shbLen + 4]);
  });

  it('skips unknown blocks by their length and reads Simple and obsolete Packet Blocks', () => {
    const base = fixture('pod-syn-to-service.pcapng');
    const shbLen = base.readUInt32LE(4);
    const idbLen = base.readUInt32LE(shbLen + 4);
    const head = base.subarray(0, shbLen + idbLen);
    const frame = Buffer.from(ref0().hex, 'hex');
    const block = (type: number, body: Buffer) => {
      const total = 12 + body.length;
      const b = Buffer.alloc(total);
      b.writeUInt32LE(type, 0);
      b.writeUInt32LE(total, 4);
      body.copy(b, 8);
      b.writeUInt32LE(total, total - 4);
      return b;
    };
    const padded = Buffer.alloc((frame.length + 3) & ~3);
    frame.copy(padded);
    const custom = block(0x40000bad, Buffer.alloc(1000, 7)); // a custom block: skipped
    const spb = block(3, Buffer.concat([Buffer.from([frame.length, 0, 0, 0]), padded]));
    const pbFixed = Buffer.alloc(20);
    pbFixed.writeUInt16LE(0, 0);
    pbFixed.writeUInt32LE(0, 4);
    pbFixed.writeUInt32LE(5_000_000, 8); // 5 s in microseconds
    pbFixed.writeUInt32LE(frame.length, 12);
    pbFixed.writeUInt32LE(frame.length, 16);
    const pb = block(2, Buffer.concat([pbFixed, padded]));
    const { reader, records } = readAll(Buffer.concat([head, custom, spb, pb]));
    expect(reader.skippedBlocks).toBe(1);
    expect(records.map((r) => r.hex)).toEqual([frame.toString('hex'), frame.toString('hex')]);
  });

  it('if_tsresol as a power of two and if_tsoffset', () => {
    const le = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const block = (type: number, body: Buffer) =>
      Buffer.concat([le(type), le(12 + body.length), body, le(12 + body.length)]);
    const shb = block(0x0a0d0d0a, Buffer.from('4d3c2b1a01000000ffffffffffffffff', 'hex'));
    // IDB: Ethernet, snaplen 0; if_tsresol 0x94 (2^-20 s), if_tsoffset 1000 s, end of options.
    const idb = block(
      1,
      Buffer.from(
        '01000000' + '00000000' + '09000100' + '94000000' + '0e000800' + 'e803000000000000' + '00000000',
        'hex',
      ),
    );
    const frame = Buffer.from(ref0().hex, 'hex');
    const epb = (units: number) =>
      block(
        6,
        Buffer.concat([
          le(0),
          le(0),
          le(units),
          le(frame.length),
          le(frame.length),
          frame,
          Buffer.alloc(((frame.length + 3) & ~3) - frame.length),
        ]),
      );
    const reader = new CaptureReader(memorySource(Buffer.concat([shb, idb, epb(3 * 1048576 + 524288)])));
    const r = reader.next()!;
    expect([r.tsSec, r.tsNsec]).toEqual([1003, 500_000_000]);
  });

  it('rejects a packet block for an interface that was never described', () => {
    const base = fixture('pod-syn-to-service.pcapng');
    const shbLen = base.readUInt32LE(4);
    const idbLen = base.readUInt32LE(shbLen + 4);
    const epb = Buffer.from(base.subarray(shbLen + idbLen, shbLen + idbLen + base.readUInt32LE(shbLen + idbLen + 4)));
    epb.writeUInt32LE(3, 8); // interface 3 of 1
    const f = faultOf(Buffer.concat([base.subarray(0, shbLen + idbLen), epb]));
    expect([f.fault.code, f.fault.offset]).toEqual(['bad-block', shbLen + idbLen + 8]);
  });
});

function ref0(): Rec {
  return readAll(fixture('pod-syn-to-service.pcap')).records[0]!;
}

describe('decodeLinkLayer faults', () => {
  const info = newLinkLayerInfo();
  it.each([
    [1, '00112233', 'ethernet', 'truncated'],
    [113, '0004', 'sll', 'truncated'],
    [276, '0800', 'sll2', 'truncated'],
    [113, '00040001000600112233445500000004', 'sll', 'unsupported'], // protocol 0x0004: 802.2 LLC
    [101, '', 'raw-ip', 'truncated'],
    [101, '75', 'raw-ip', 'bad-version'],
    [228, '60', 'raw-ip', 'bad-version'], // LINKTYPE_IPV4 carries IPv4 only
    [105, '00', 'capture', 'unsupported'],
  ])('link type %i, %s -> %s %s', (lt, hex, layer, code) => {
    const f = decodeLinkLayer(lt, Buffer.from(hex, 'hex'), info);
    expect([f?.layer, f?.code]).toEqual([layer, code]);
  });

  it('raw IP: IPv4 and (for 101) IPv6 by the version nibble', () => {
    expect(decodeLinkLayer(101, Buffer.from('45', 'hex'), info)).toBeNull();
    expect([info.ethertype, info.payloadOffset, info.ethernet]).toEqual([0x0800, 0, false]);
    expect(decodeLinkLayer(12, Buffer.from('60', 'hex'), info)).toBeNull();
    expect(info.ethertype).toBe(0x86dd);
  });
});
