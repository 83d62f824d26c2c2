import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../codecs/bytes.js';
import { FileSink, MemorySink, writeFileWithSink } from '../../codecs/file-sink.js';
import { PcapReader, PcapWriter } from '../../codecs/pcap.js';
import { PcapngWriter, readPcapng } from '../../codecs/pcapng.js';
import { scratchPath } from '../helpers/pcap-inline.js';

/** A 64-byte frame whose bytes depend on i, so a misplaced flush shows up as wrong data. */
function fillFrame(frame: Buffer, i: number): void {
  for (let k = 0; k < frame.length; k++) frame[k] = (i + k) & 0xff;
}

describe('FileSink', () => {
  it('streams 200k packets through one buffer, grown to its size and then fixed, and renames into place on close', () => {
    const path = scratchPath('stream.pcap');
    const sink = new FileSink(path, 64 * 1024);
    expect(sink.buf.length).toBe(4096); // a file that gets one frame costs 4 KiB
    const w = new PcapWriter(sink);
    const frame = Buffer.alloc(64);
    const N = 200_000;
    for (let i = 0; i < 1000; i++) {
      fillFrame(frame, i);
      w.writePacket(i * 1000, frame);
    }
    const buffer = sink.buf;
    expect(buffer.length).toBe(64 * 1024);
    for (let i = 1000; i < N; i++) {
      fillFrame(frame, i);
      w.writePacket(i * 1000, frame);
      if (i % 10_000 === 0) {
        expect(sink.buf).toBe(buffer); // never replaced, never grown
        expect(existsSync(path)).toBe(false); // the final name appears only on close()
        expect(existsSync(sink.tempPath)).toBe(true);
      }
    }
    expect(sink.buf).toBe(buffer);
    expect(sink.buf.length).toBe(64 * 1024);
    sink.close();
    expect(existsSync(sink.tempPath)).toBe(false);
    expect(statSync(path).size).toBe(24 + N * (16 + 64));
    expect(sink.position).toBe(24 + N * (16 + 64));

    let i = 0;
    const expected = Buffer.alloc(64);
    for (const p of new PcapReader(readFileSync(path))) {
      fillFrame(expected, i);
      if (p.tsNs !== i * 1000 || toHex(p.data) !== toHex(expected)) throw new Error(`packet ${i} differs`);
      i++;
    }
    expect(i).toBe(N);
  });

  it('writes the same bytes as a MemorySink across flush boundaries and direct big writes', () => {
    const fill = (sink: FileSink | MemorySink) => {
      const w = new PcapngWriter(sink);
      w.addInterface({ name: 'eth0' });
      for (let i = 0; i < 300; i++) {
        const frame = new Uint8Array(1 + ((i * 37) % 500)).fill(i & 0xff); // plain Uint8Array source too
        w.writePacket(0, i, frame, 0, frame.length, { comment: i % 3 === 0 ? `packet ${i}` : undefined });
      }
    };
    const mem = new MemorySink(16);
    fill(mem);
    const path = scratchPath('same.pcapng');
    writeFileWithSink(path, fill, 256); // 256-byte buffer: frames over 128 bytes bypass it
    expect(toHex(readFileSync(path))).toBe(toHex(mem.bytes()));
    expect(readPcapng(readFileSync(path)).packets.length).toBe(300);
  });

  it('abort() leaves no file under either name', () => {
    const path = scratchPath('aborted.pcap');
    const sink = new FileSink(path, 1024);
    const w = new PcapWriter(sink);
    for (let i = 0; i < 100; i++) w.writePacket(i, Buffer.alloc(60));
    sink.abort();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(sink.tempPath)).toBe(false);
    expect(() => sink.reserve(4)).toThrow(/aborted/);
  });

  it('an exception mid-write leaves no file and no temporary file', () => {
    const path = scratchPath('failed.pcap');
    const before = readdirSync(join(path, '..')).length;
    expect(() =>
      writeFileWithSink(
        path,
        (sink) => {
          const w = new PcapWriter(sink);
          for (let i = 0; i < 1000; i++) w.writePacket(i, Buffer.alloc(100));
          w.writePacket(-1, Buffer.alloc(100)); // EncodeError: negative timestamp
        },
        4096,
      ),
    ).toThrow(/timestamp/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(join(path, '..')).length).toBe(before);
  });

  it('does not replace an existing file until close()', () => {
    const path = scratchPath('replace.pcap');
    writeFileWithSink(path, (s) => new PcapWriter(s).writePacket(0, Buffer.alloc(10)));
    const old = readFileSync(path);
    const sink = new FileSink(path);
    new PcapWriter(sink).writePacket(0, Buffer.alloc(20));
    sink.flush();
    expect(toHex(readFileSync(path))).toBe(toHex(old));
    sink.close();
    expect(statSync(path).size).toBe(24 + 16 + 20);
  });
});

describe('MemorySink', () => {
  it('grows and keeps what was written', () => {
    const sink = new MemorySink(16);
    for (let i = 0; i < 100; i++) sink.write(Uint8Array.of(i, i + 1), 1, 2);
    const off = sink.reserve(3);
    sink.buf.write('abc', off, 'latin1');
    expect(sink.position).toBe(103);
    expect(Array.from(sink.bytes().subarray(0, 100))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(sink.bytes().subarray(100).toString('latin1')).toBe('abc');
    sink.clear();
    expect(sink.position).toBe(0);
  });
});
