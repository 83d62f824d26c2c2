/**
 * Bulk runs (`run --count N`): what a load generator that opens conversation after conversation from one client
 * has to do, and the counts that stand in for a line per conversation.
 *
 * Pacing. A client opens its connections from the ephemeral range (32768-60999, 28,232 ports), and a connection
 * it closed holds its port in TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN). Once every port is taken, connect() fails
 * with EADDRNOTAVAIL (the emulated kernel does that too, see SocketLayer.ephemeralPort). A real load generator
 * therefore cannot start its next conversation before the oldest TIME_WAIT ends: `paceForPort` advances the
 * virtual clock to that moment and counts the wait, so every conversation gets a port and a million run at the
 * rate a real client could sustain (28,232 per minute to one service), with the clock showing it.
 */

import type { Stack } from '../node/stack.js';
import type { FlowOutcome, FlowResult, FlowSpec } from './flow.js';

/** Outcome counts of a run's conversations, and how long the client waited for free ports. */
export class FlowTally {
  total = 0;
  readonly outcomes: Record<FlowOutcome, number> = { completed: 0, refused: 0, 'no-port': 0, unanswered: 0 };
  /** Times the client had to wait for a port in TIME_WAIT, and the virtual time it waited in all (ns). */
  portWaits = 0;
  portWaitNs = 0;
  /** The first detail seen per failed outcome (one example, not one line per conversation). */
  readonly examples = new Map<FlowOutcome, string>();

  add(f: FlowResult): void {
    this.total++;
    this.outcomes[f.outcome]++;
    if (f.outcome !== 'completed' && !this.examples.has(f.outcome)) this.examples.set(f.outcome, f.detail);
  }

  toJSON(): object {
    return {
      total: this.total,
      ...this.outcomes,
      portWaits: this.portWaits,
      portWaitSeconds: this.portWaitNs / 1e9,
      examples: Object.fromEntries(this.examples),
    };
  }
}

/**
 * Before a bulk conversation: when the client has no free ephemeral port, advance the virtual clock to the moment
 * the oldest closed connection releases one (what a load generator waits for). Counts the wait on `tally`.
 * Conversations with a fixed source port, and ICMP, need no ephemeral port.
 */
export function paceForPort(client: Stack, spec: FlowSpec, tally: FlowTally): void {
  if (spec.proto === 'icmp' || spec.sourcePort !== undefined) return;
  const clock = client.runtime.clock;
  const at = client.sockets.ephemeralPortFreeAt();
  if (at <= clock.now || at === Infinity) return; // free now, or never: connect() reports EADDRNOTAVAIL
  tally.portWaits++;
  tally.portWaitNs += at - clock.now;
  clock.advance(at - clock.now);
}
