/**
 * Measuring one BenchCase: size a batch so one call takes about a millisecond, let tinybench time many calls
 * (packets/s = median calls/s x batch), then count the heap bytes the case allocates per packet.
 *
 * Allocation is counted with V8's GC profiler rather than by heap growth alone: allocated = (used heap after -
 * used heap before) + what every collection in between freed. Heap growth alone undercounts as soon as a
 * scavenge runs inside the window, and a window long enough to average well always sees one when something
 * allocates. A forced GC before the window starts it from a clean heap; the profiler's own bookkeeping is
 * measured with an empty window and subtracted.
 */

import { GCProfiler, getHeapStatistics } from 'node:v8';
import { Bench } from 'tinybench';
import type { BenchCase } from './registry.js';

export interface MeasureOptions {
  /** tinybench time budget per case (ms). */
  timeMs: number;
  /** tinybench warm-up budget per case (ms). */
  warmupMs: number;
  /** Minimum timed calls per case. */
  minCalls: number;
  /** Target duration of one batched call (ms). */
  callMs: number;
  /** About how long the allocation window runs (ms). */
  allocWindowMs: number;
}

export interface Measurement {
  packetsPerSecond: number;
  /** Relative margin of error of the mean call rate, in percent (tinybench's rme). */
  rme: number;
  /** Packets per timed call. */
  batch: number;
  /** Heap bytes allocated per packet in steady state (after warm-up). */
  bytesPerPacket: number;
}

let sink = 0;
/** Keeps every case's results observable, so no loop is dead code. */
export function consumedSink(): number {
  return sink;
}

function timeCall(c: BenchCase, n: number): number {
  const t0 = process.hrtime.bigint();
  sink += Number(c.run(n) ?? 0);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * Packets per call so that a call takes about `callMs`: grow until a call is measurable, warm up (tier-up
 * changes the speed a lot), then size from the fastest of a few calls.
 */
export function calibrateBatch(c: BenchCase, callMs: number, warmupMs: number): number {
  let n = 1;
  while (timeCall(c, n) < callMs / 8 && n < 1 << 26) n *= 2;
  const deadline = performance.now() + warmupMs;
  while (performance.now() < deadline) timeCall(c, n);
  let best = Infinity;
  for (let r = 0; r < 5; r++) best = Math.min(best, timeCall(c, n));
  return Math.max(1, Math.round((n * callMs) / Math.max(best, 1e-3)));
}

function usedHeap(): number {
  return getHeapStatistics().used_heap_size;
}

/** Bytes allocated while running `calls` calls of `batch` packets (profiler overhead included). */
function allocatedDuring(c: BenchCase, calls: number, batch: number): number {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('allocation measurement needs node --expose-gc');
  gc();
  gc();
  const profiler = new GCProfiler();
  profiler.start();
  const before = usedHeap();
  for (let i = 0; i < calls; i++) sink += Number(c.run(batch) ?? 0);
  const after = usedHeap();
  const stats = profiler.stop();
  let freed = 0;
  for (const s of stats.statistics)
    freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  return after - before + freed;
}

const emptyCase: BenchCase = { name: '(empty)', run: () => 0 };

/** Heap bytes per packet, from a window of about `windowMs` after the case is warm. */
export function allocationPerPacket(c: BenchCase, batch: number, callMs: number, windowMs: number): number {
  const calls = Math.max(4, Math.round(windowMs / callMs));
  // The profiler and the heap-statistics objects allocate a little; measure that with no work and subtract.
  let overhead = Infinity;
  for (let r = 0; r < 3; r++) overhead = Math.min(overhead, allocatedDuring(emptyCase, calls, 0));
  // The forced GC can free setup leftovers that make V8 drop and recompile hot code; a first window absorbs that
  // recompilation, and the second one measures the steady state.
  allocatedDuring(c, calls, batch);
  const bytes = allocatedDuring(c, calls, batch) - overhead;
  return Math.max(0, bytes / (calls * batch));
}

/** Measure one case whose setup has already run. */
export function measureCase(c: BenchCase, o: MeasureOptions): Measurement {
  const batch = calibrateBatch(c, o.callMs, o.warmupMs);
  const bench = new Bench({ time: o.timeMs, warmupTime: o.warmupMs, iterations: o.minCalls, throws: true });
  bench.add(c.name, () => {
    sink += Number(c.run(batch) ?? 0);
  });
  const [task] = bench.runSync();
  const r = task!.result;
  if (r.state === 'errored') throw r.error;
  if (r.state !== 'completed') throw new Error(`${c.name}: tinybench ended in state ${r.state}`);
  const bytesPerPacket = allocationPerPacket(c, batch, o.callMs, o.allocWindowMs);
  return { packetsPerSecond: r.throughput.p50 * batch, rme: r.throughput.rme, batch, bytesPerPacket };
}
