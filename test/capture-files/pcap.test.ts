import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../codecs/bytes.js';
import { DecodeError, type Fault } from '../../codecs/errors.js';
import { MemorySink } from '../../codecs/file-sink.js';
import { faultOf } from '../helpers/fault.js';
import { PcapReader, PcapWriter, readPcap } from '../../codecs/pcap.js';

const FRAME = fromHex('de ad be ef 01');

function write(opts: ConstructorParameters<typeof PcapWriter>[1], fill: (w: PcapWriter) => void): Buffer {
  const sink = new MemorySink(16);
  const w = new PcapWriter(sink, opts);
  fill(w);
  return Buffer.from(sink.bytes());
}

describe('pcap writer golden bytes', () => {
  it('writes a nanosecond file header and record (hand-checked against the libpcap file format)', () => {
    const bytes = write({ resolution: 'ns', snaplen: 65535 }, (w) => w.writePacket(1_500_000_123, FRAME));
    const expected = fromHex(`
      4d3cb2a1  # magic a1b23c4d (nanosecond), little endian
      0200 0400 # version 2.4
      00000000  # thiszone
      00000000  # sigfigs
      ffff0000  # snaplen 65535
      01000000  # linktype 1 = Ethernet
      01000000  # ts_sec 1
      7b65cd1d  # ts_nsec 500000123 = 0x1dcd657b
      05000000  # incl_len 5
      05000000  # orig_len 5
      deadbeef01`);
    expect(toHex(bytes)).toBe(toHex(expected));
  });

  it('writes a microsecond file with the default snaplen, truncating to microseconds', () => {
    const bytes = write({ resolution: 'us' }, (w) => w.writePacket(1_500_000_999, FRAME));
    const expected = fromHex(`
      d4c3b2a1 0200 0400 00000000 00000000
      00000400  # snaplen 262144 = 0x40000
      01000000
      01000000 20a10700  # 1 s + 500000 us (0x7a120); the 999 ns are dropped
      05000000 05000000 deadbeef01`);
    expect(toHex(bytes)).toBe(toHex(expected));
  });

  it('cuts packets at the snaplen and keeps the original length', () => {
    const bytes = write({ snaplen: 4 }, (w) => w.writePacket(0, FRAME));
    expect(toHex(bytes, 24 + 8, 24 + 16)).toBe('04000000' + '05000000');
    expect(bytes.length).toBe(24 + 16 + 4);
    const { packets } = readPcap(bytes);
    expect(toHex(packets[0]!.data)).toBe('deadbeef');
    expect(packets[0]!.origLen).toBe(5);
  });

  it('writes the same bytes from a range inside a larger buffer, Buffer or plain Uint8Array', () => {
    const a = write({}, (w) => w.writePacket(7, FRAME));
    const big = Buffer.alloc(64, 0x55);
    FRAME.copy(big, 17);
    const b = write({}, (w) => w.writePacket(7, big, 17, 22));
    const c = write({}, (w) => w.writePacket(7, new Uint8Array(big), 17, 22));
    expect(toHex(b)).toBe(toHex(a));
    expect(toHex(c)).toBe(toHex(a));
  });

  it('adds epochSeconds to ts_sec', () => {
    const bytes = write({ epochSeconds: 1_700_000_000 }, (w) => w.writePacket(2_000_000_005, FRAME));
    expect(toHex(bytes, 24, 32)).toBe('02f15365' + '05000000'); // 1700000002 = 0x6553f102
  });

  it('refuses an original length shorter than the captured bytes', () => {
    expect(() => write({}, (w) => w.writePacket(0, FRAME, 0, 5, 4))).toThrow(/original length/);
  });
});

describe('pcap round trips', () => {
  const frames = [fromHex('01'), fromHex('0203'), Buffer.alloc(1514, 0xab), fromHex('04050607')];
  const stamps = [0, 999, 1_000_000_001, 86_400_000_000_123];

  for (const resolution of ['ns', 'us'] as const) {
    it(`writer -> reader gives the same packets (${resolution})`, () => {
      const bytes = write({ resolution }, (w) => {
        for (const [i, f] of frames.entries()) w.writePacket(stamps[i]!, f);
      });
      const { header, packets } = readPcap(bytes);
      expect(header).toEqual({
        byteOrder: 'little',
        resolution,
        versionMajor: 2,
        versionMinor: 4,
        thiszone: 0,
        sigfigs: 0,
        snaplen: 262144,
        linktype: 1,
      });
      expect(packets.map((p) => toHex(p.data))).toEqual(frames.map((f) => toHex(f)));
      expect(packets.map((p) => p.origLen)).toEqual(frames.map((f) => f.length));
      const expectedNs = resolution === 'ns' ? stamps : stamps.map((t) => Math.floor(t / 1000) * 1000);
      expect(packets.map((p) => p.tsNs)).toEqual(expectedNs);
    });
  }

  it('reads a hand-built big-endian microsecond file', () => {
    const bytes = fromHex(`
      a1b2c3d4 0002 0004 00000000 00000000 0000ffff 00000001
      00000002 00000007 00000003 00000040 aabbcc   # 2 s + 7 us, 3 of 64 bytes
      00000003 00000000 00000001 00000001 dd`);
    const { header, packets } = readPcap(bytes);
    expect(header.byteOrder).toBe('big');
    expect(header.resolution).toBe('us');
    expect(header.snaplen).toBe(65535);
    expect(header.linktype).toBe(1);
    expect(packets.map((p) => [p.tsNs, toHex(p.data), p.origLen])).toEqual([
      [2_000_007_000, 'aabbcc', 64],
      [3_000_000_000, 'dd', 1],
    ]);
  });

  it('reads a hand-built big-endian nanosecond file', () => {
    const bytes = fromHex(
      'a1b23c4d 0002 0004 00000000 00000000 00040000 00000001  00000001 3b9ac9ff 00000001 00000001 ee',
    );
    const { header, packets } = readPcap(bytes);
    expect(header.resolution).toBe('ns');
    expect(packets[0]!.tsNs).toBe(1_999_999_999);
  });

  it('iterates lazily: a record after a bad one is never reached before the caller asks', () => {
    const bytes = write({}, (w) => {
      w.writePacket(1, FRAME);
      w.writePacket(2, FRAME);
    });
    const cut = bytes.subarray(0, bytes.length - 1);
    const it = new PcapReader(cut)[Symbol.iterator]();
    expect(it.next().value?.tsNs).toBe(1);
    expect(() => it.next()).toThrow(DecodeError);
  });
});

describe('pcap malformed input', () => {
  const file = write({ snaplen: 65535 }, (w) => {
    w.writePacket(1, FRAME);
    w.writePacket(2, fromHex('0102'));
  });
  const recordStarts = [24, 24 + 16 + 5, file.length];

  it('every truncation is either a whole prefix of records or a truncated fault at the cut record', () => {
    for (let n = 0; n < file.length; n++) {
      const cut = file.subarray(0, n);
      if (n >= 24 && recordStarts.includes(n)) {
        expect(readPcap(cut).packets.length, `cut at ${n}`).toBe(recordStarts.indexOf(n));
        continue;
      }
      const f = faultOf(() => readPcap(cut));
      expect(f.code, `cut at ${n}`).toBe('truncated');
      const expectedOffset = n < 24 ? 0 : Math.max(...recordStarts.filter((s) => s <= n));
      expect(f.offset, `cut at ${n}`).toBe(expectedOffset);
    }
  });

  it('random corruption either reads or throws DecodeError, never anything else', () => {
    let seed = 777;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 3000; round++) {
      const bytes = Buffer.from(file);
      for (let k = 1 + rand(4); k > 0; k--) bytes[rand(bytes.length)] = rand(256);
      try {
        readPcap(bytes);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw new Error(`round ${round}: ${String(e)}`);
      }
    }
  });

  const cases: [string, Buffer, Fault['code'], number][] = [
    ['bad magic', Buffer.concat([fromHex('0badcafe'), file.subarray(4)]), 'bad-magic', 0],
    ['pcapng given to the pcap reader', fromHex('0a0d0d0a 1c000000 4d3c2b1a'), 'bad-magic', 0],
    ['incl_len > orig_len', patch(file, 24 + 12, '04000000'), 'bad-length', 24 + 8],
    ['incl_len > snaplen', patch(file, 24 + 8, 'ffffffff'), 'bad-length', 24 + 8],
  ];
  for (const [name, bytes, code, offset] of cases) {
    it(`${name} -> ${code} at ${offset}`, () => {
      expect(faultOf(() => readPcap(bytes))).toMatchObject({ layer: 'pcap', code, offset });
    });
  }
});

function patch(b: Buffer, offset: number, hex: string): Buffer {
  const c = Buffer.from(b);
  fromHex(hex).copy(c, offset);
  return c;
}
