/**
 * Capture-file suite: pcap and pcapng records written through a FileSink into a real file, on tmpfs
 * (/dev/shm) when the machine has room there, so the number is the writer's cost plus a memory copy into the
 * page cache, not the disk's. The file is rotated before it grows past a limit and deleted at the end.
 */

import { statfsSync, accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink } from '../codecs/file-sink.js';
import { PcapngWriter } from '../codecs/pcapng.js';
import { PCAP_RECORD_HEADER_LEN, PcapWriter } from '../codecs/pcap.js';
import { BufferPool, type PacketBuffer } from '../src/buffer/packet-buffer.js';
import { fillPool, FrameBuilder, POOL_MASK } from './frames.js';
import type { BenchCase, BenchSuite } from './registry.js';

/** Where capture files go, and how large one may grow before it is replaced. */
export interface CaptureDir {
  dir: string;
  /** Rotate (delete and reopen) the file once it holds this many bytes. */
  rotateBytes: number;
}

const MB = 1 << 20;

function freeBytes(dir: string): number {
  try {
    accessSync(dir, constants.W_OK);
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

/**
 * /dev/shm when it is writable with at least 64 MB free (a container's default /dev/shm is often 64 MB in
 * all), else the OS temp directory. At most a quarter of the free space is used, and never more than 512 MB.
 */
export function captureDir(): CaptureDir {
  const shmFree = freeBytes('/dev/shm');
  const dir = shmFree >= 64 * MB ? '/dev/shm' : tmpdir();
  const free = dir === '/dev/shm' ? shmFree : freeBytes(dir);
  return { dir, rotateBytes: Math.max(8 * MB, Math.min(512 * MB, Math.floor(free / 4))) };
}

/** The record layouts under test: how one frame is written, and how many file bytes that takes. */
interface Format {
  ext: 'pcap' | 'pcapng';
  /** A writer of one frame at `clock.now` ns (the clock is an object: a timestamp argument would be boxed). */
  open(sink: FileSink): (b: PacketBuffer, clock: { now: number }) => void;
  recordBytes(frameLength: number): number;
}

const PCAPNG: Format = {
  ext: 'pcapng',
  open(sink) {
    const w = new PcapngWriter(sink);
    const ifId = w.addInterface({ name: 'vxlan0', description: 'benchmark' });
    return (b, clock) => w.writePacketNow(ifId, clock, b.data, b.start, b.end);
  },
  // Enhanced Packet Block: type, length, interface, timestamp (2 words), two lengths, padded data, length.
  recordBytes: (n) => 32 + ((n + 3) & ~3),
};

const PCAP: Format = {
  ext: 'pcap',
  open(sink) {
    const w = new PcapWriter(sink);
    return (b, clock) => w.writePacket(clock.now, b.data, b.start, b.end);
  },
  recordBytes: (n) => PCAP_RECORD_HEADER_LEN + n,
};

/** <format>-write-N: frames of N bytes (Ethernet/IPv4/UDP) appended to a capture file, 1 µs apart. */
function writeCase(format: Format, frameLength: number): BenchCase {
  const name = `${format.ext}-write-${frameLength}`;
  let bufs: PacketBuffer[] = [];
  let sink: FileSink | undefined;
  let write: (b: PacketBuffer, clock: { now: number }) => void = () => {};
  let where: CaptureDir = { dir: '', rotateBytes: 0 };
  const clock = { now: 0 };
  const open = (): void => {
    sink = new FileSink(join(where.dir, `packetwalk-bench-${process.pid}-${name}.${format.ext}`));
    write = format.open(sink);
  };
  return {
    name,
    bytesPerOp: format.recordBytes(frameLength),
    scapy: name,
    setup() {
      where = captureDir();
      const builder = new FrameBuilder(frameLength);
      bufs = fillPool(new BufferPool(), (b, k) => builder.buildInnerFrame(b, k));
      open();
      const before = sink!.position;
      write(bufs[0]!, clock);
      const written = sink!.position - before;
      if (written !== format.recordBytes(frameLength)) {
        throw new Error(
          `${name}: one ${frameLength}-byte frame took ${written} bytes, expected ${format.recordBytes(frameLength)}`,
        );
      }
    },
    run(n) {
      if (sink!.position > where.rotateBytes) {
        sink!.abort();
        open();
      }
      for (let i = 0; i < n; i++) {
        clock.now += 1000;
        write(bufs[i & POOL_MASK]!, clock);
      }
      return sink!.position;
    },
    teardown() {
      sink?.abort(); // deletes the temporary file: nothing is left behind
      sink = undefined;
      bufs = [];
    },
  };
}

export const pcapSuite: BenchSuite = {
  name: 'pcap',
  cases: [writeCase(PCAPNG, 1400), writeCase(PCAP, 1400), writeCase(PCAPNG, 64), writeCase(PCAP, 64)],
};
