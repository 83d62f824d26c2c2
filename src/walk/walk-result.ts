/**
 * What a finished walk hands to the writers of pictures and pages (path.svg, index.html, a step-through page):
 * a scenario run and a replayed capture both produce this shape, so a page writer takes either.
 */

import type { CaptureRecorder } from '../capture/recorder.js';
import type { Cluster } from '../cluster/types.js';
import type { Emulation } from '../node/emulation.js';
import type { WalkPacket } from '../runtime/runtime.js';

export interface WalkResult {
  /** What was walked: a scenario's name, figure and summary, or a replay's (`replay`, the file, the point). */
  scenario: { readonly name: string; readonly figure: string; readonly summary: string };
  cluster: Cluster;
  emulation: Emulation;
  /** One line per conversation (scenarios) or per outcome group (replays), and whether it ended as intended. */
  flows: readonly { readonly detail: string; readonly ok: boolean }[];
  /** Every traced packet of the walk, in creation order. */
  packets: WalkPacket[];
  /** The captures, with the in-memory frame index (and bytes) pictures read. */
  recorder: CaptureRecorder;
  /** True when the outcome matches what was expected. */
  passed: boolean;
  /** Files written, relative to `dir`. */
  files: string[];
  dir?: string;
}
