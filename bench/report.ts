/**
 * The bench's outputs: one JSON record per case (the shape the lead's plots and CI read) and the text table.
 */

import { cpus, platform, release, arch } from 'node:os';

/** One line of `--json` output. */
export interface BenchResult {
  name: string;
  packetsPerSecond: number;
  /** Gbit/s of the bytes the operation handles per packet; null when bytes/s says nothing. */
  gbps: number | null;
  /** Heap bytes allocated per packet in steady state. */
  bytesPerPacket: number;
  /** Our packets/s over scapy's for the same operation in the same run; null without scapy or an equivalent. */
  scapyRatio: number | null;
  /** Relative margin of error of the rate, percent. */
  rme: number;
}

/** Which machine the numbers come from. */
export function machineLine(): string {
  const c = cpus();
  return `machine: ${c[0]?.model.trim() ?? 'unknown CPU'}, ${c.length} cores, node ${process.version} (V8 ${process.versions.v8}), ${platform()} ${release()} ${arch()}`;
}

/** 1234567 -> "1.23 M", 4321 -> "4.32 k". */
export function formatRate(x: number): string {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(2)} k`;
  return x.toFixed(1);
}

function formatBytes(b: number): string {
  return b < 10 ? b.toFixed(1) : Math.round(b).toString();
}

const COLUMNS: [title: string, width: number][] = [
  ['name', 34],
  ['packets/s', 10],
  ['Gbit/s', 8],
  ['GB/s', 6],
  ['bytes alloc/packet', 18],
  ['vs scapy', 9],
  ['±rme', 6],
];

function row(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(COLUMNS[i]![1]) : c.padStart(COLUMNS[i]![1]))).join(' | ');
}

export function tableHeader(): string {
  return `${row(COLUMNS.map(([t]) => t))}\n${COLUMNS.map(([, w]) => '-'.repeat(w)).join('-|-')}`;
}

export function tableRow(r: BenchResult): string {
  return row([
    r.name,
    formatRate(r.packetsPerSecond),
    r.gbps === null ? '-' : r.gbps.toFixed(2),
    r.gbps === null ? '-' : (r.gbps / 8).toFixed(2),
    formatBytes(r.bytesPerPacket),
    r.scapyRatio === null ? '-' : `${Math.round(r.scapyRatio)}x`,
    `${r.rme.toFixed(1)}%`,
  ]);
}
