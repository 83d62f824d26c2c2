/**
 * What the main thread and the shard workers say to each other. Work goes out as messages, one per batch per
 * worker (a list of flow numbers); progress comes back through shared counters, so the main thread can block
 * on them with Atomics.wait (the benchmark harness and the CLI are synchronous) and no message is needed per
 * batch unless frames are captured.
 */

import type { CapturePointInfo } from '../runtime/capture-sink.js';
import type { ShardFrames } from './frame-log.js';

/** Int32 slots of the shared control array (one array for the whole pool). */
export const C_READY = 0; // workers whose replicas are built
export const C_DONE = 1; // flows finished (ok or not)
export const C_FAILED = 2; // flows that did not complete
export const C_ERRORS = 3; // workers that hit an exception
export const C_CPU_SAMPLES = 4; // answers to 'cpu' requests
export const C_WAKE_AT = 5; // the main thread sleeps until C_DONE reaches this: workers wake it only then
export const CONTROL_SLOTS = 6;

/** Float64 slots per worker of the shared statistics array. */
export const S_BUSY_MS = 0; // time spent running flows
export const S_FLOWS = 1; // flows run
export const S_CPU_MS = 2; // the worker thread's CPU time since its replicas were built (-1: not measurable)
export const STATS_STRIDE = 3;

export interface WorkerConfig {
  workerIndex: number;
  scenario: string;
  shards: number;
  /** The shards this worker hosts (shard s goes to worker s mod workers). */
  shardIds: number[];
  seed: number;
  spacingNs: number;
  capture: boolean;
  control: SharedArrayBuffer;
  stats: SharedArrayBuffer;
}

export type ToWorker =
  /** Run these flows (ascending; each of a hosted shard); with capture, answer with one 'frames' message. */
  | { op: 'run'; flows: Int32Array }
  /** Rebuild every replica from scratch (a new run of the same flow set). */
  | { op: 'reset' }
  /** Write the thread's CPU time into the statistics (after the batches queued before this message). */
  | { op: 'cpu' };

export type FromWorker =
  | { kind: 'ready'; workerIndex: number; points: CapturePointInfo[] | null; epochSeconds: number }
  | { kind: 'frames'; workerIndex: number; shards: ShardFrames[] }
  | { kind: 'failure'; workerIndex: number; flow: number; detail: string }
  | { kind: 'error'; workerIndex: number; message: string };
