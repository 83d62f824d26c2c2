/**
 * Turn frames built in a test into a capture file tshark can read:
 *
 *   const file = writeTempPcap([frame1, frame2]);
 *   expect(tsharkProblems(file)).toEqual([]);
 *
 * Files go to one temporary directory per test process, removed when the process exits.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemorySink, writeFileWithSink } from '../../codecs/file-sink.js';
import { PcapWriter, type PcapWriterOptions } from '../../codecs/pcap.js';

let dir: string | undefined;
let counter = 0;

/** The per-process scratch directory (created on first use, deleted at exit). */
export function scratchDir(): string {
  if (dir === undefined) {
    const created = mkdtempSync(join(tmpdir(), 'packetwalk-test-'));
    dir = created;
    process.once('exit', () => rmSync(created, { recursive: true, force: true }));
  }
  return dir;
}

/** A fresh path in the scratch directory, e.g. `scratchPath('vxlan.pcapng')`. */
export function scratchPath(name: string): string {
  return join(scratchDir(), `${++counter}-${name}`);
}

/** Frames as a classic pcap in memory; frame i is stamped i microseconds unless `tsNs` gives the stamps. */
export function pcapBytes(
  frames: readonly Uint8Array[],
  opts: PcapWriterOptions & { tsNs?: readonly number[] } = {},
): Buffer {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, opts);
  for (const [i, f] of frames.entries()) w.writePacket(opts.tsNs?.[i] ?? i * 1000, f);
  return Buffer.from(sink.bytes());
}

/** Frames written to a new pcap file in the scratch directory; returns its path. */
export function writeTempPcap(
  frames: readonly Uint8Array[],
  opts: PcapWriterOptions & { tsNs?: readonly number[]; name?: string } = {},
): string {
  const path = scratchPath(opts.name ?? 'frames.pcap');
  writeFileWithSink(path, (sink) => {
    const w = new PcapWriter(sink, opts);
    for (const [i, f] of frames.entries()) w.writePacket(opts.tsNs?.[i] ?? i * 1000, f);
  });
  return path;
}
