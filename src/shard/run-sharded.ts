/**
 * A sharded run in one call: start the workers, run flows 0 .. n-1 of a scenario's flow set with capture, and
 * merge every shard's frames into one pcapng (in memory, or into the sink given).
 */

import { MemorySink, type ByteSink } from '../../codecs/file-sink.js';
import { MergedCaptureWriter } from './merge.js';
import { ShardPool, type ShardPoolOptions } from './pool.js';

export interface ShardedRunOptions extends Omit<ShardPoolOptions, 'capture'> {
  /** How many flows of the flow set to run. */
  flows: number;
  /** Where the merged pcapng goes (default: memory, returned as `pcapng`). */
  sink?: ByteSink;
}

export interface ShardedRunResult {
  /** The merged capture when no sink was given. */
  pcapng?: Buffer;
  /** Frames in the merged capture. */
  frames: number;
  /** Flows run per shard. */
  flowsPerShard: number[];
}

/** Run `opts.flows` flows on `opts.workers` threads and merge the capture. Every flow must complete (else throws). */
export async function runShardedCapture(opts: ShardedRunOptions): Promise<ShardedRunResult> {
  const pool = new ShardPool({ ...opts, capture: true });
  try {
    if (opts.flows > pool.flowSet.capacity)
      throw new Error(`${opts.flows} flows exceed the flow set's ${pool.flowSet.capacity}`);
    const streams = pool.runCaptured(0, opts.flows);
    const flowsPerShard = new Array<number>(pool.shards).fill(0);
    for (let i = 0; i < opts.flows; i++) flowsPerShard[pool.flowSet.shardOf(i)]!++;
    const memory = opts.sink ? undefined : new MemorySink(1 << 20);
    const writer = new MergedCaptureWriter(opts.sink ?? memory!, pool.points, pool.epochSeconds);
    const frames = writer.write(streams);
    return { pcapng: memory ? Buffer.from(memory.bytes()) : undefined, frames, flowsPerShard };
  } finally {
    await pool.close();
  }
}
