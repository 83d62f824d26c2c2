/**
 * ShardPool: N worker threads running the flows of one flow set, sharded as NIC RSS does. Flow i goes to
 * shard shardOf(i) (a symmetric Toeplitz hash of its 4-tuple, so both directions of a flow stay together), and
 * shard s lives on worker s mod N with its own replica of the cluster.
 *
 * What "the same bytes" means: the shard count S is part of a run's definition (like a seed); the number of
 * workers is not. Each shard's replica runs its flows in flow order from a clock set to the flow's start time,
 * so its frames depend only on (scenario, seed, S, flows); the merge orders frames by (time, flow, place in
 * flow). The merged capture is therefore byte-identical for 1, 2, 4 ... workers, and with S = 1 it is exactly
 * what one emulation running the flows in order writes.
 *
 * The pool is synchronous: the caller blocks in Atomics.wait while workers run (the benchmark harness and the
 * CLI are synchronous). Workers are started once; work goes out as one message per worker per batch.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { CapturePointInfo } from '../runtime/capture-sink.js';
import { DEFAULT_SPACING_NS, FlowSet } from './flow-set.js';
import type { ShardFrames } from './frame-log.js';
import {
  C_CPU_SAMPLES,
  C_DONE,
  C_ERRORS,
  C_FAILED,
  C_READY,
  C_WAKE_AT,
  CONTROL_SLOTS,
  S_BUSY_MS,
  S_CPU_MS,
  S_FLOWS,
  STATS_STRIDE,
  type FromWorker,
  type ToWorker,
  type WorkerConfig,
} from './protocol.js';

/** Default shard count: a multiple of 1, 2, 4 and 8 workers, so each worker hosts the same number of shards. */
export const DEFAULT_SHARDS = 8;

export interface ShardPoolOptions {
  /** Built-in scenario whose conversations make the flow set. */
  scenario: string;
  /** Worker threads (1 .. shards). */
  workers: number;
  /** Shards (default 8). The output depends on it; it must not change between runs that are compared. */
  shards?: number;
  /** Run seed (default 1); shard s's emulation is seeded from (seed, s). */
  seed?: number;
  /** Virtual ns between flow starts (default 1 ms). */
  spacingNs?: number;
  /** Capture frames (runCaptured); off for pure throughput. */
  capture?: boolean;
  /** Give up when workers make no progress for this long (default 120 s; a crashed worker never reports). */
  stallMs?: number;
}

/** Per-worker counters since the pool started. */
export interface WorkerStats {
  /** Wall time spent running flows. */
  busyMs: number[];
  flows: number[];
  /** The worker thread's CPU time (Linux; -1 where it cannot be read). */
  cpuMs: number[];
}

/** The worker thread: compiled JavaScript from dist, or the TypeScript source through tsx's loader. */
function startWorker(workerData: unknown, transferList: MessagePort[]): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./shard-worker.js', here), { workerData, transferList });
  // Node 20 workers do not inherit the parent's module hooks: register tsx inside the worker first. A failure
  // to load is counted in the control array (the main thread is blocked and would not see an 'error' event).
  const entry = new URL('./shard-worker.ts', here).href;
  const code = [
    `import(${JSON.stringify(tsxEsmApi(here))})`,
    `  .then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`,
    `  .catch((e) => {`,
    `    console.error(e);`,
    `    const c = new Int32Array(require('node:worker_threads').workerData.config.control);`,
    `    Atomics.add(c, ${C_ERRORS}, 1); Atomics.notify(c, ${C_ERRORS});`,
    `  });`,
  ].join('\n');
  return new Worker(code, { eval: true, workerData, transferList });
}

/** URL of tsx's ESM register API (its CommonJS twin cannot register ESM hooks from a worker in Node 20). */
function tsxEsmApi(from: string): string {
  const require = createRequire(from);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
    exports: Record<string, { import?: { default?: string } }>;
  };
  const rel = pkg.exports['./esm/api']?.import?.default;
  if (!rel)
    throw new Error(`tsx at ${pkgPath} has no ./esm/api export: cannot start shard workers from TypeScript sources`);
  return pathToFileURL(join(dirname(pkgPath), rel)).href;
}

export class ShardPool {
  readonly flowSet: FlowSet;
  readonly workers: number;
  readonly shards: number;
  readonly capture: boolean;
  /** Capture points (identical in every replica), when capturing. */
  readonly points: CapturePointInfo[] = [];
  epochSeconds = 0;
  private readonly threads: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly control: Int32Array;
  private readonly statsArray: Float64Array;
  private readonly stallMs: number;
  /** Flows handed out so far. */
  private submitted = 0;
  private readies = 0;
  private cpuSamples = 0;
  /** Messages read while looking for another kind (failures, errors), per worker. */
  private readonly errors: string[] = [];

  constructor(opts: ShardPoolOptions) {
    const shards = opts.shards ?? DEFAULT_SHARDS;
    if (!(Number.isInteger(opts.workers) && opts.workers >= 1 && opts.workers <= shards)) {
      throw new Error(`workers must be an integer from 1 to the shard count ${shards}, got ${opts.workers}`);
    }
    this.workers = opts.workers;
    this.shards = shards;
    this.capture = opts.capture ?? false;
    this.stallMs = opts.stallMs ?? 120_000;
    const spacingNs = opts.spacingNs ?? DEFAULT_SPACING_NS;
    this.flowSet = new FlowSet({ scenario: opts.scenario, shards, spacingNs });
    const controlBuf = new SharedArrayBuffer(CONTROL_SLOTS * 4);
    const statsBuf = new SharedArrayBuffer(this.workers * STATS_STRIDE * 8);
    this.control = new Int32Array(controlBuf);
    this.statsArray = new Float64Array(statsBuf);
    for (let w = 0; w < this.workers; w++) {
      const shardIds: number[] = [];
      for (let s = w; s < shards; s += this.workers) shardIds.push(s);
      const config: WorkerConfig = {
        workerIndex: w,
        scenario: opts.scenario,
        shards,
        shardIds,
        seed: opts.seed ?? 1,
        spacingNs,
        capture: this.capture,
        control: controlBuf,
        stats: statsBuf,
      };
      const { port1, port2 } = new MessageChannel();
      this.ports.push(port1);
      const t = startWorker({ config, port: port2 }, [port2]);
      t.on('error', (e) => this.errors.push(`worker ${w}: ${e.stack ?? e}`));
      this.threads.push(t);
    }
    try {
      this.waitReady();
    } catch (e) {
      void this.close();
      throw e;
    }
  }

  /** Flows handed out so far. */
  get handedOut(): number {
    return this.submitted;
  }

  /** Flows finished so far (ok or not; a failure throws at the next wait). */
  get finished(): number {
    return Atomics.load(this.control, C_DONE);
  }

  /** Which worker hosts flow i. */
  workerOf(i: number): number {
    return this.flowSet.shardOf(i) % this.workers;
  }

  /** Hand flows [from, to) to the workers, one message per worker, and return without waiting. */
  submit(from: number, to: number): void {
    const w = this.workers;
    const counts = new Int32Array(w);
    for (let i = from; i < to; i++) counts[this.workerOf(i)]!++;
    const lists = Array.from(counts, (n) => new Int32Array(n));
    counts.fill(0);
    for (let i = from; i < to; i++) {
      const k = this.workerOf(i);
      lists[k]![counts[k]!++] = i;
    }
    for (let k = 0; k < w; k++) {
      // With capture every worker gets a message (and answers with one 'frames' message), even an empty one.
      if (lists[k]!.length === 0 && !this.capture) continue;
      this.send(k, { op: 'run', flows: lists[k]! });
      this.submitted += lists[k]!.length;
    }
  }

  /** Block until at most `backlog` handed-out flows are unfinished. Throws when a flow failed or a worker broke. */
  waitBacklog(backlog: number): void {
    this.waitFor(C_DONE, () => this.submitted - backlog, 'flows to finish');
  }

  /** Block until every handed-out flow has finished. */
  drain(): void {
    this.waitBacklog(0);
  }

  /** Run flows [from, to) and return every shard's frames, in shard order (the pool must capture). */
  runCaptured(from: number, to: number): ShardFrames[] {
    if (!this.capture) throw new Error('runCaptured needs a pool started with capture: true');
    this.submit(from, to);
    this.drain();
    const out: ShardFrames[] = [];
    for (let w = 0; w < this.workers; w++) {
      const m = this.receive(w, 'frames');
      if (m.kind === 'frames') out.push(...m.shards);
    }
    return out.sort((a, b) => a.shard - b.shard);
  }

  /** Rebuild every replica (the same flows can then run again); blocks until the workers are ready. */
  reset(): void {
    this.drain();
    for (let w = 0; w < this.workers; w++) this.send(w, { op: 'reset' });
    this.readies += this.workers;
    this.waitFor(C_READY, () => this.readies, 'replicas to be rebuilt');
  }

  /** Counters of every worker, after the flows handed out so far (blocks until they finish). */
  stats(): WorkerStats {
    this.drain();
    for (let w = 0; w < this.workers; w++) this.send(w, { op: 'cpu' });
    this.cpuSamples += this.workers;
    this.waitFor(C_CPU_SAMPLES, () => this.cpuSamples, 'CPU time samples');
    const s = this.statsArray;
    const busyMs: number[] = [],
      flows: number[] = [],
      cpuMs: number[] = [];
    for (let w = 0; w < this.workers; w++) {
      busyMs.push(s[w * STATS_STRIDE + S_BUSY_MS]!);
      flows.push(s[w * STATS_STRIDE + S_FLOWS]!);
      cpuMs.push(s[w * STATS_STRIDE + S_CPU_MS]!);
    }
    return { busyMs, flows, cpuMs };
  }

  /** Stop the workers. */
  async close(): Promise<void> {
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.terminate()));
    for (const p of this.ports) p.close();
  }

  private send(w: number, m: ToWorker): void {
    this.ports[w]!.postMessage(m);
  }

  private waitReady(): void {
    this.readies = this.workers;
    this.waitFor(C_READY, () => this.readies, 'workers to build their replicas');
    for (let w = 0; w < this.workers; w++) {
      const m = this.receive(w, 'ready');
      if (m.kind !== 'ready') continue;
      this.epochSeconds = m.epochSeconds;
      if (!this.capture || !m.points) continue;
      if (this.points.length === 0) this.points.push(...m.points);
      else if (m.points.map((p) => p.name).join('\n') !== this.points.map((p) => p.name).join('\n')) {
        throw new Error(`worker ${w} registered different capture points than worker 0`);
      }
    }
  }

  /** Block until control[slot] >= target(); throws on worker errors, failed flows or a stall. */
  private waitFor(slot: number, target: () => number, what: string): void {
    const c = this.control;
    if (slot === C_DONE) Atomics.store(c, C_WAKE_AT, target()); // before reading C_DONE: no wake-up is lost
    let last = Atomics.load(c, slot);
    let lastChange = performance.now();
    for (;;) {
      this.checkProblems();
      const now = Atomics.load(c, slot);
      if (now >= target()) return;
      if (now !== last) {
        last = now;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > this.stallMs) {
        throw new Error(`shard pool: no progress for ${this.stallMs} ms waiting for ${what} (${now} of ${target()})`);
      }
      Atomics.wait(c, slot, now, 200);
    }
  }

  private checkProblems(): void {
    const c = this.control;
    if (Atomics.load(c, C_ERRORS) === 0 && Atomics.load(c, C_FAILED) === 0) return;
    const found = [...this.errors];
    for (let w = 0; w < this.workers; w++) {
      for (let m = receiveMessageOnPort(this.ports[w]!); m; m = receiveMessageOnPort(this.ports[w]!)) {
        const msg = m.message as FromWorker;
        if (msg.kind === 'error') found.push(`worker ${w}: ${msg.message}`);
        if (msg.kind === 'failure')
          found.push(
            `flow ${msg.flow} (${this.flowSet.scenario.name}, client port ${this.flowSet.sourcePort(msg.flow)}) did not complete: ${msg.detail}`,
          );
      }
    }
    const failed = Atomics.load(c, C_FAILED);
    throw new Error(
      `shard pool: ${failed > 0 ? `${failed} flow(s) failed; ` : ''}${found.join('; ') || 'a worker failed to start (see stderr)'}`,
    );
  }

  /** The next message of `kind` from worker w (it was posted before the counter we waited on moved). */
  private receive(w: number, kind: FromWorker['kind']): FromWorker {
    const deadline = performance.now() + this.stallMs;
    for (;;) {
      const m = receiveMessageOnPort(this.ports[w]!);
      if (m) {
        const msg = m.message as FromWorker;
        if (msg.kind === kind) return msg;
        if (msg.kind === 'error') throw new Error(`shard pool: worker ${w}: ${msg.message}`);
        if (msg.kind === 'failure') throw new Error(`shard pool: flow ${msg.flow} did not complete: ${msg.detail}`);
        continue;
      }
      if (performance.now() > deadline) throw new Error(`shard pool: worker ${w} sent no ${kind} message`);
      Atomics.wait(this.control, C_DONE, Atomics.load(this.control, C_DONE), 1);
    }
  }
}
