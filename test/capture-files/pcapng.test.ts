import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../codecs/bytes.js';
import { DecodeError, type Fault } from '../../codecs/errors.js';
import { MemorySink } from '../../codecs/file-sink.js';
import { faultOf } from '../helpers/fault.js';
import { PcapngReader, PcapngWriter, readPcapng, type PcapngWriterOptions } from '../../codecs/pcapng.js';

const FRAME = fromHex('de ad be ef 01');

function write(fill: (w: PcapngWriter) => void, opts?: PcapngWriterOptions): Buffer {
  const sink = new MemorySink(16);
  const w = new PcapngWriter(sink, opts);
  fill(w);
  return Buffer.from(sink.bytes());
}

// Hand-assembled from the pcapng draft (sections 4.1-4.3): every block is type, total length, body, total length;
// options are code u16, length u16, value padded to 4; opt_endofopt closes each option list.
const SHB_HEX = `
  0a0d0d0a 30000000            # SHB, total length 48
  4d3c2b1a 0100 0000           # byte-order magic, version 1.0
  ffffffff ffffffff            # section length -1 (unspecified)
  0400 0a00 7061636b657477616c6b 0000  # shb_userappl(4), 10 bytes "packetwalk" + 2 padding
  0000 0000                    # opt_endofopt
  30000000`;
const IDB_HEX = `
  01000000 34000000            # IDB, total length 52
  0100 0000 00000400           # linktype 1, reserved, snaplen 262144
  0200 0400 65746830           # if_name(2) "eth0"
  0300 0800 6e6f6465204e4943   # if_description(3) "node NIC"
  0900 0100 09 000000          # if_tsresol(9) = 9 (10^-9 s), 3 padding bytes
  0000 0000
  34000000`;
const EPB_HEX = `
  06000000 3c000000            # EPB, total length 60
  00000000                     # interface 0
  01000000 02000000            # timestamp high 1, low 2 -> 2^32 + 2 ns
  05000000 05000000            # captured 5, original 5
  deadbeef01 000000            # data + 3 padding
  0100 0200 6869 0000          # opt_comment(1) "hi" + 2 padding
  0200 0400 02000000           # epb_flags(2) = 2: outbound
  0000 0000
  3c000000`;

describe('pcapng writer golden bytes', () => {
  it('writes SHB, IDB and EPB with options, padding and lengths at both ends', () => {
    const bytes = write((w) => {
      expect(w.addInterface({ name: 'eth0', description: 'node NIC' })).toBe(0);
      w.writePacket(0, 2 ** 32 + 2, FRAME, 0, FRAME.length, { comment: 'hi', direction: 'outbound' });
    });
    expect(toHex(bytes)).toBe(toHex(fromHex(SHB_HEX + IDB_HEX + EPB_HEX)));
  });

  it('omits the option list when a block has no options', () => {
    const bytes = write(
      (w) => {
        w.addInterface({ name: '', tsresolNs: false, snaplen: 65535 });
        w.writePacket(0, 3000, fromHex('aabbccdd'));
      },
      { userAppl: '' },
    );
    expect(toHex(bytes)).toBe(
      toHex(
        fromHex(`
      0a0d0d0a 1c000000 4d3c2b1a 01000000 ffffffffffffffff 1c000000   # SHB, 28 bytes, no options
      01000000 14000000 0100 0000 ffff0000 14000000                  # IDB, 20 bytes, microseconds
      06000000 24000000 00000000 00000000 03000000 04000000 04000000 aabbccdd 24000000  # EPB: 3 us`),
      ),
    );
  });

  it('encodes a multibyte comment with its UTF-8 length and the inbound flag', () => {
    const bytes = write((w) => {
      w.addInterface({ name: 'veth1a2b3c4d' });
      w.writePacket(0, 0, FRAME, 0, 5, { comment: 'né', direction: 'inbound' });
    });
    const epb = bytes.subarray(bytes.length - 60);
    // "né" is 3 bytes in UTF-8 (6e c3a9): option length 3, one padding byte; epb_flags = 1.
    expect(toHex(epb, 36, 52)).toBe('01000300' + '6ec3a900' + '02000400' + '01000000');
    expect(readPcapng(bytes).packets[0]).toMatchObject({ comment: 'né', direction: 'inbound', flags: 1 });
  });

  it('writes the same bytes from a range inside a larger buffer', () => {
    const a = write((w) => {
      w.addInterface({ name: 'x' });
      w.writePacket(0, 5, FRAME);
    });
    const big = new Uint8Array(40).fill(0x55);
    big.set(FRAME, 9);
    const b = write((w) => {
      w.addInterface({ name: 'x' });
      w.writePacket(0, 5, big, 9, 14);
    });
    expect(toHex(b)).toBe(toHex(a));
  });

  it('rejects a packet on an interface that was never added', () => {
    expect(() => write((w) => w.writePacket(0, 0, FRAME))).toThrow(/interface 0/);
  });
});

describe('pcapng round trips', () => {
  it('writer -> reader keeps interfaces, timestamps, comments, directions and cut lengths', () => {
    const bytes = write((w) => {
      w.addInterface({ name: 'veth1a2b3c4d', description: 'pod web-1' });
      w.addInterface({ name: 'vxlan0', snaplen: 4 });
      w.writePacket(0, 1_000_000_007, FRAME, 0, 5, { direction: 'outbound' });
      w.writePacket(1, 2_000_000_009, FRAME, 0, 5, { comment: 'to 10.129.0.7 via vxlan0' });
      // An interface added after packets were written, then used.
      w.addInterface({ name: 'eth0', tsresolNs: false, tsOffsetSec: 1_700_000_000 });
      w.writePacket(2, 3_000_123_456, fromHex('00'), 0, 1, { origLen: 60, direction: 'inbound', comment: 'c' });
      w.writePacket(0, 2 ** 53 - 1, fromHex('0102'));
    });
    const r = readPcapng(bytes);
    expect(r.byteOrder).toBe('little');
    expect(r.userAppl).toBe('packetwalk');
    expect(r.interfaces).toEqual([
      { name: 'veth1a2b3c4d', description: 'pod web-1', linktype: 1, snaplen: 262144, tsresol: 9, tsOffsetSec: 0 },
      { name: 'vxlan0', linktype: 1, snaplen: 4, tsresol: 9, tsOffsetSec: 0 },
      { name: 'eth0', linktype: 1, snaplen: 262144, tsresol: 6, tsOffsetSec: 1_700_000_000 },
    ]);
    expect(r.packets.map((p) => ({ ...p, data: toHex(p.data) }))).toEqual([
      { interfaceId: 0, tsNs: 1_000_000_007, data: 'deadbeef01', origLen: 5, direction: 'outbound', flags: 2 },
      { interfaceId: 1, tsNs: 2_000_000_009, data: 'deadbeef', origLen: 5, comment: 'to 10.129.0.7 via vxlan0' },
      { interfaceId: 2, tsNs: 3_000_123_000, data: '00', origLen: 60, direction: 'inbound', flags: 1, comment: 'c' },
      { interfaceId: 0, tsNs: 2 ** 53 - 1, data: '0102', origLen: 2 },
    ]);
  });

  it('reads a hand-built big-endian section with an unknown block and a simple packet block', () => {
    const bytes = fromHex(`
      0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c      # SHB, big endian
      00000001 00000020 0001 0000 0000ffff 0009 0001 09000000 00000000 00000020  # IDB, ns
      00000004 0000000c 0000000c                                          # name resolution block: skipped
      00000006 00000024 00000000 00000000 000003e8 00000004 00000004 cafebabe 00000024  # EPB at 1000 ns
      00000003 00000014 00000003 010203 00 00000014                       # SPB, 3 bytes
      00000bad 00000010 12345678 00000010                                 # unknown type: skipped`);
    const r = readPcapng(bytes);
    expect(r.byteOrder).toBe('big');
    expect(r.interfaces).toEqual([{ linktype: 1, snaplen: 65535, tsresol: 9, tsOffsetSec: 0 }]);
    expect(r.packets.map((p) => [p.interfaceId, p.tsNs, toHex(p.data), p.origLen])).toEqual([
      [0, 1000, 'cafebabe', 4],
      [0, 0, '010203', 3],
    ]);
  });

  it('converts other timestamp resolutions (10^-3 and 2^-10 s)', () => {
    const idb = (tsresol: string) =>
      `01000000 20000000 0100 0000 00000000 0900 0100 ${tsresol} 000000 00000000 20000000`;
    const epb = '06000000 20000000 00000000 00000000 00040000 00000000 00000000 20000000'; // ts = 1024 units, no data
    const shb = '0a0d0d0a 1c000000 4d3c2b1a 01000000 ffffffffffffffff 1c000000';
    expect(readPcapng(fromHex(shb + idb('03') + epb)).packets[0]!.tsNs).toBe(1024 * 1_000_000);
    expect(readPcapng(fromHex(shb + idb('8a') + epb)).packets[0]!.tsNs).toBe(1_000_000_000);
  });

  it('numbers interfaces of a second section after those of the first', () => {
    const one = write((w) => {
      w.addInterface({ name: 'a' });
      w.writePacket(0, 1, FRAME);
    });
    const two = write(
      (w) => {
        w.addInterface({ name: 'b' });
        w.writePacket(0, 2, FRAME);
      },
      { userAppl: 'other' },
    );
    const r = readPcapng(Buffer.concat([one, two]));
    expect(r.interfaces.map((i) => i.name)).toEqual(['a', 'b']);
    expect(r.packets.map((p) => p.interfaceId)).toEqual([0, 1]);
    expect(r.userAppl).toBe('packetwalk');
  });
});

describe('pcapng malformed input', () => {
  const file = fromHex(SHB_HEX + IDB_HEX + EPB_HEX);
  const blockStarts = [0, 48, 100, 160];

  it('every truncation is a whole prefix of blocks or a truncated fault at the cut block', () => {
    for (let n = 0; n < file.length; n++) {
      const cut = file.subarray(0, n);
      if (n > 0 && blockStarts.includes(n)) {
        expect(readPcapng(cut).packets.length, `cut at ${n}`).toBe(n === 160 ? 1 : 0);
        continue;
      }
      const f = faultOf(() => readPcapng(cut));
      expect(f.code, `cut at ${n}`).toBe('truncated');
      expect(f.offset, `cut at ${n}`).toBe(Math.max(...blockStarts.filter((s) => s <= n)));
    }
  });

  const cases: [string, Buffer, Fault['code'], number][] = [
    ['a pcap file', fromHex('d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000'), 'bad-magic', 0],
    ['bad byte-order magic', patch(file, 8, '01020304'), 'bad-magic', 8],
    ['block length not a multiple of 4', patch(file, 48 + 4, '35000000'), 'bad-block', 52],
    ['block length below 12', patch(file, 48 + 4, '08000000'), 'bad-block', 52],
    ['trailing length differs', patch(file, 100 - 4, '38000000'), 'bad-block', 96],
    ['EPB on an undescribed interface', patch(file, 100 + 8, '01000000'), 'bad-block', 108],
    ['EPB captured length past its block', patch(file, 100 + 20, '40000000'), 'bad-block', 120],
    ['option running past its block', patch(file, 48 + 16 + 2, '4000'), 'bad-block', 66],
    ['section version 2', patch(file, 12, '0200'), 'unsupported', 12],
  ];
  for (const [name, bytes, code, offset] of cases) {
    it(`${name} -> ${code} at ${offset}`, () => {
      expect(faultOf(() => readPcapng(bytes))).toMatchObject({ layer: 'pcapng', code, offset });
    });
  }

  it('random corruption either reads or throws DecodeError, never anything else', () => {
    let seed = 12345;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 3000; round++) {
      const bytes = Buffer.from(file);
      for (let k = 1 + rand(4); k > 0; k--) bytes[rand(bytes.length)] = rand(256);
      try {
        readPcapng(bytes);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw new Error(`round ${round}: ${String(e)}`);
      }
    }
  });

  it('a second section with a bad magic faults at that section', () => {
    const bytes = Buffer.concat([file, patch(file, 8, '00000000')]);
    expect(faultOf(() => readPcapng(bytes))).toMatchObject({ code: 'bad-magic', offset: file.length + 8 });
  });

  it('the streaming reader yields the good packets before the fault', () => {
    const bytes = Buffer.concat([file, fromHex('06000000')]);
    const it = new PcapngReader(bytes)[Symbol.iterator]();
    expect(it.next().done).toBe(false);
    expect(faultOf(() => it.next())).toMatchObject({ code: 'truncated', offset: file.length });
  });
});

function patch(b: Buffer, offset: number, hex: string): Buffer {
  const c = Buffer.from(b);
  fromHex(hex).copy(c, offset);
  return c;
}
