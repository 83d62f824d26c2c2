/**
 * Sharded walk suite: whole conversations of pod-to-pod-cross-node (handshake, request, response, close; every
 * hop of every packet) run by worker threads, flows spread over 8 shards by a symmetric RSS hash of their
 * 4-tuple, shard s on worker s mod N (src/shard/pool.ts). walk-sharded-1 is the baseline: the same 8 shards on
 * one worker, measured in the same run.
 *
 * One iteration is one packet of a conversation (a TCP exchange here is 8 packets, counted at setup), so the
 * column compares with the other walk-* cases; flows/s is printed beside the speedup. No capture: this measures
 * the emulation's work, as walk-pod-to-pod-cross-node does.
 *
 * Workers and their replicas are built in setup (not timed). A call hands the call's flows out as one message
 * per worker, then blocks until at most BACKLOG_PER_WORKER flows per worker are unfinished: each call waits
 * for about its own share of work, while the workers always have the next batch queued (a pipeline, as a NIC's
 * rings are). Teardown drains the pipeline. Bytes/packet counts the main thread only (workers have their own
 * heaps).
 */

import type { PacketBuffer } from '../src/buffer/packet-buffer.js';
import { attachCapture } from '../src/capture/attach.js';
import type { CapturePointInfo, CaptureSink } from '../src/runtime/capture-sink.js';
import { createFastPath } from '../src/fastpath/fast-path.js';
import { Emulation } from '../src/node/emulation.js';
import type { FlowSet } from '../src/shard/flow-set.js';
import { ShardPool } from '../src/shard/pool.js';
import { runFlow, sourceStack } from '../src/walk/flow.js';
import { RUN_MODE, type BenchCase, type BenchSuite } from './registry.js';

const SCENARIO = 'pod-to-pod-cross-node';
const SHARDS = 8;
/** Unfinished flows allowed per worker before a call blocks (~5 ms of work at ~7 k flows/s per core). */
const BACKLOG_PER_WORKER = 32;

/** Counts the frames recorded at a set of capture points. */
class FrameCounter implements CaptureSink {
  readonly watched = new Set<number>();
  count = 0;
  private next = 0;
  register(_info: CapturePointInfo): number {
    return this.next++;
  }
  record(id: number, _direction: unknown, _pkt: PacketBuffer, _comment: string | undefined): void {
    if (this.watched.has(id)) this.count++;
  }
}

/**
 * Packets in one conversation of the flow set: the frames crossing the client's interfaces in a steady-state
 * flow (the second: the first also resolves ARP). Every packet of the exchange leaves or reaches the client.
 */
function packetsPerFlow(flows: FlowSet): number {
  const emu = new Emulation(flows.cluster, { seed: 1, fastPath: createFastPath });
  const counter = new FrameCounter();
  attachCapture(emu, counter);
  const client = sourceStack(emu, flows.base[0]!.from);
  for (const i of client.interfaces) if (i.tap >= 0) counter.watched.add(i.tap);
  if (!runFlow(emu, flows.spec(0)).ok) throw new Error(`${SCENARIO}: flow 0 did not complete`);
  counter.count = 0;
  if (!runFlow(emu, flows.spec(flows.base.length)).ok)
    throw new Error(`${SCENARIO}: flow ${flows.base.length} did not complete`);
  if (counter.count === 0) throw new Error(`${SCENARIO}: no frame at the client's interfaces`);
  return counter.count;
}

/** Steady-state flows/s per worker count, for the speedup line. */
const steadyFlowRate = new Map<number, number>();

/** Interleaved windows per pool (the median is reported) and each window's length. */
const AB_ROUNDS = 7;
const AB_WINDOW_MS = 250;

/** A pool with its own next-flow counter, for the interleaved measurement. */
interface Runner {
  pool: ShardPool;
  next: number;
}

/** Flows/s of `r` over one window with its pipeline kept full (filled first, drained after; neither counted). */
function windowRate(r: Runner, ms: number): number {
  const p = r.pool;
  const backlog = BACKLOG_PER_WORKER * p.workers;
  const chunk = 8 * p.workers;
  const feed = (): void => {
    if (r.next + chunk > p.flowSet.capacity) {
      p.reset();
      r.next = 0;
    }
    p.submit(r.next, r.next + chunk);
    r.next += chunk;
    p.waitBacklog(backlog);
  };
  while (p.handedOut - p.finished < backlog) feed();
  const t0 = performance.now(),
    done0 = p.finished;
  while (performance.now() - t0 < ms) feed();
  const rate = (p.finished - done0) / ((performance.now() - t0) / 1000);
  p.drain();
  return rate;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * The speedup measured A/B: windows of one worker and of two alternate, so a VM whose second vCPU comes and goes
 * (this project's machine kind) affects both sides alike instead of deciding the ratio between two cases run a
 * second apart. Prints the medians and every window.
 */
function interleavedSpeedup(two: ShardPool): void {
  const one: Runner = { pool: new ShardPool({ scenario: SCENARIO, workers: 1, shards: SHARDS }), next: 0 };
  const pair: Runner = { pool: two, next: 0 };
  try {
    pair.pool.reset();
    // The one-worker pool is new: its workers' code is not compiled yet. Warm both before measuring.
    windowRate(one, 4 * AB_WINDOW_MS);
    windowRate(pair, AB_WINDOW_MS);
    const r1: number[] = [],
      r2: number[] = [];
    for (let i = 0; i < AB_ROUNDS; i++) {
      r1.push(windowRate(one, AB_WINDOW_MS));
      r2.push(windowRate(pair, AB_WINDOW_MS));
    }
    const k = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(1)).join(' ');
    console.log(
      `# walk-sharded A/B, ${AB_ROUNDS} alternating ${AB_WINDOW_MS} ms windows: 1 worker ${(median(r1) / 1000).toFixed(2)} k flows/s [${k(r1)}], 2 workers ${(median(r2) / 1000).toFixed(2)} k flows/s [${k(r2)}]: speedup ${(median(r2) / median(r1)).toFixed(2)}x`,
    );
  } finally {
    void one.pool.close();
  }
}

function shardedCase(workers: number): BenchCase {
  let pool: ShardPool | undefined;
  let perFlow = 8;
  let next = 0;
  let credit = 0;
  // Over the calls that had to wait (the pipeline full): flows finished and the time they took.
  let steadyFlows = 0;
  let steadyMs = 0;
  let firstSubmit = 0;
  let cpuAtFirstSubmit: NodeJS.CpuUsage | undefined;
  return {
    name: `walk-sharded-${workers}`,
    setup() {
      pool = new ShardPool({ scenario: SCENARIO, workers, shards: SHARDS });
      perFlow = packetsPerFlow(pool.flowSet);
      next = credit = steadyFlows = steadyMs = firstSubmit = 0;
      cpuAtFirstSubmit = undefined;
    },
    run(n) {
      const p = pool!;
      credit += n;
      const flows = Math.floor(credit / perFlow);
      credit -= flows * perFlow;
      if (flows === 0) return next;
      if (next + flows > p.flowSet.capacity) {
        p.reset(); // every client port used (64 512 flows per conversation): the same flows again on fresh replicas
        next = 0;
      }
      if (firstSubmit === 0) {
        firstSubmit = performance.now();
        cpuAtFirstSubmit = process.cpuUsage();
      }
      const t0 = performance.now(),
        done0 = p.finished;
      const backlog = BACKLOG_PER_WORKER * workers;
      const blocks = p.handedOut + flows - done0 > backlog;
      p.submit(next, next + flows);
      next += flows;
      p.waitBacklog(backlog);
      if (blocks) {
        steadyFlows += p.finished - done0;
        steadyMs += performance.now() - t0;
      }
      return next;
    },
    teardown() {
      const p = pool;
      pool = undefined;
      if (!p) return;
      try {
        p.drain();
        const wallMs = performance.now() - firstSubmit;
        const cpu = process.cpuUsage(cpuAtFirstSubmit);
        if (steadyMs > 0)
          report(workers, p, steadyFlows / (steadyMs / 1000), perFlow, (cpu.user + cpu.system) / 1000 / wallMs);
        if (workers === 2 && !RUN_MODE.quick) interleavedSpeedup(p);
      } finally {
        void p.close();
      }
    },
  };
}

/**
 * One line per case: flows/s with the pipeline full, the CPU the process got (all threads: workers, their GC
 * helpers, the main thread) and each worker's flows per ms of its own CPU time. On a shared machine the last
 * two tell a slow parallel run that lacked cores (cores < workers) from one whose workers got slower per flow.
 */
function report(workers: number, pool: ShardPool, flowsPerSecond: number, perFlow: number, cores: number): void {
  steadyFlowRate.set(workers, flowsPerSecond);
  const s = pool.stats();
  const perWorker = s.cpuMs.map((ms, w) => (ms > 0 ? `w${w} ${(s.flows[w]! / ms).toFixed(2)}` : `w${w} ?`)).join(', ');
  const base = steadyFlowRate.get(1);
  const speedup =
    workers > 1 && base ? `; speedup over walk-sharded-1 in this run: ${(flowsPerSecond / base).toFixed(2)}x` : '';
  console.log(
    `# walk-sharded-${workers}: ${(flowsPerSecond / 1000).toFixed(2)} k flows/s (${perFlow} packets/flow) with the pipeline full, process on ${cores.toFixed(2)} cores, flows per worker CPU-ms: ${perWorker}${speedup}`,
  );
}

export const shardSuite: BenchSuite = {
  name: 'shard',
  cases: [shardedCase(1), shardedCase(2)],
};
