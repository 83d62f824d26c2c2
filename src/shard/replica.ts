/**
 * One shard's replica of the cluster: its own Emulation (seeded per shard) and, when capturing, its own
 * FrameLog. A replica runs the flows of its shard one after another, in flow order, so its state (ARP caches,
 * conntrack, each host's ISN and IP ID sequences) and therefore its bytes depend only on the run's seed, the
 * shard count and the flow set: never on the number of workers or on which worker hosts it.
 */

import { attachCapture } from '../capture/attach.js';
import { createFastPath } from '../fastpath/fast-path.js';
import { Emulation } from '../node/emulation.js';
import { runFlow, type FlowResult } from '../walk/flow.js';
import type { FlowSet } from './flow-set.js';
import { FrameLog } from './frame-log.js';

/** The seed of shard `shard`'s emulation: the run's seed for shard 0, a distinct one for each other shard. */
export function shardSeed(seed: number, shard: number): number {
  return (seed + Math.imul(shard, 0x9e3779b9)) >>> 0;
}

export class ShardReplica {
  readonly emulation: Emulation;
  readonly log: FrameLog | undefined;

  constructor(
    private readonly flows: FlowSet,
    readonly shard: number,
    seed: number,
    capture: boolean,
  ) {
    // Every node built up front: a FrameLog takes its capture points before the first frame, and every replica
    // must declare the same ones (the merge numbers interfaces by them).
    this.emulation = new Emulation(flows.cluster, {
      seed: shardSeed(seed, shard),
      fastPath: createFastPath,
    }).buildAll();
    if (capture) {
      this.log = new FrameLog(this.emulation.runtime.clock);
      attachCapture(this.emulation, this.log);
    }
  }

  /** Run flow i (which must hash to this shard) from its start time, or later if the previous flow ran past it. */
  run(i: number): FlowResult {
    if (this.flows.shardOf(i) !== this.shard)
      throw new Error(`flow ${i} hashes to shard ${this.flows.shardOf(i)}, not ${this.shard}`);
    const clock = this.emulation.runtime.clock;
    const start = this.flows.startNs(i);
    if (clock.now < start) clock.now = start;
    this.log?.beginFlow(i);
    return runFlow(this.emulation, this.flows.spec(i));
  }
}
