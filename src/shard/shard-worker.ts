/**
 * A shard worker thread: builds the replicas of the shards it hosts, then runs the flow batches the main
 * thread sends, counting finished and failed flows in the shared control array (and posting the captured
 * frames of each batch when capturing).
 */

import { readFileSync } from 'node:fs';
import { type MessagePort, workerData } from 'node:worker_threads';
import { FlowSet } from './flow-set.js';
import {
  C_CPU_SAMPLES,
  C_DONE,
  C_ERRORS,
  C_FAILED,
  C_READY,
  C_WAKE_AT,
  S_BUSY_MS,
  S_CPU_MS,
  S_FLOWS,
  STATS_STRIDE,
  type FromWorker,
  type ToWorker,
  type WorkerConfig,
} from './protocol.js';
import { ShardReplica } from './replica.js';

const { config, port } = workerData as { config: WorkerConfig; port: MessagePort };
const control = new Int32Array(config.control);
const stats = new Float64Array(config.stats);
const me = config.workerIndex;
const flows = new FlowSet({ scenario: config.scenario, shards: config.shards, spacingNs: config.spacingNs });
/** Replica per shard number (undefined for shards another worker hosts). */
let replicas: ShardReplica[] = [];

function build(): void {
  replicas = [];
  for (const s of config.shardIds) replicas[s] = new ShardReplica(flows, s, config.seed, config.capture);
}

/**
 * This thread's CPU time in ms (user + system), from Linux's /proc/thread-self/stat (fields 14 and 15, in clock
 * ticks of 10 ms: USER_HZ is 100 on every Linux architecture Node runs on). -1 elsewhere.
 */
function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // fields 14, 15 counted from 1; f[0] is field 3
  } catch {
    return -1;
  }
}
let cpuAtBuild = 0;

function post(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

/** Count `n` into a control slot and wake the main thread. */
function bump(slot: number, n: number): void {
  Atomics.add(control, slot, n);
  Atomics.notify(control, slot);
}

function runBatch(list: Int32Array): void {
  const t0 = performance.now();
  let failed = 0;
  for (let k = 0; k < list.length; k++) {
    const i = list[k]!;
    const shard = flows.shardOf(i);
    const r = replicas[shard];
    if (!r) throw new Error(`worker ${me} was sent flow ${i} of shard ${shard}, which it does not host`);
    const result = r.run(i);
    if (!result.ok) {
      if (failed++ === 0) post({ kind: 'failure', workerIndex: me, flow: i, detail: result.detail });
    }
  }
  stats[me * STATS_STRIDE + S_BUSY_MS]! += performance.now() - t0;
  stats[me * STATS_STRIDE + S_FLOWS]! += list.length;
  if (config.capture) {
    const shards = config.shardIds.map((s) => replicas[s]!.log!.take(s));
    post(
      { kind: 'frames', workerIndex: me, shards },
      shards.flatMap((f) => [f.blocks.buffer as ArrayBuffer, f.index.buffer as ArrayBuffer]),
    );
  }
  // Messages and failures before done: once the main thread sees a batch done, they are there to read.
  if (failed > 0) bump(C_FAILED, failed);
  // Wake the main thread only when it has work to do (a wake-up costs a core switch on a busy machine).
  const done = Atomics.add(control, C_DONE, list.length) + list.length;
  if (done >= Atomics.load(control, C_WAKE_AT) || failed > 0) Atomics.notify(control, C_DONE);
}

function fail(e: unknown): void {
  post({ kind: 'error', workerIndex: me, message: (e as Error).stack ?? String(e) });
  bump(C_ERRORS, 1);
}

port.on('message', (m: ToWorker) => {
  try {
    if (m.op === 'run') runBatch(m.flows);
    else if (m.op === 'cpu') {
      const now = threadCpuMs();
      stats[me * STATS_STRIDE + S_CPU_MS] = now < 0 ? -1 : now - cpuAtBuild;
      bump(C_CPU_SAMPLES, 1);
    } else if (m.op === 'reset') {
      build();
      bump(C_READY, 1);
    }
  } catch (e) {
    fail(e);
  }
});

try {
  build();
  cpuAtBuild = threadCpuMs();
  const points = config.capture ? (replicas[config.shardIds[0]!]?.log?.points ?? []) : null;
  post({
    kind: 'ready',
    workerIndex: me,
    points,
    epochSeconds: replicas[config.shardIds[0]!]?.emulation.runtime.clock.epochSeconds ?? 0,
  });
  bump(C_READY, 1);
} catch (e) {
  fail(e);
}
