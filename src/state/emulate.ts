/**
 * An Emulation of a state directory's cluster in which every node with dumps runs its actual flows, groups,
 * rules, conntrack entries and routes (apply.ts). Nodes are read and applied one at a time, so only one node's
 * parsed dumps are held at once.
 */

import type { Emulation } from '../node/emulation.js';
import { applyNodeState } from './apply.js';
import type { StateDir } from './state-dir.js';

/** Applies every node folder of `state` to `emu`; returns what could not be applied and the unmodelled flows. */
export function applyStateDir(emu: Emulation, state: StateDir): { skipped: string[]; unmodelled: string[] } {
  const skipped: string[] = [];
  const unmodelled: string[] = [];
  for (const node of state.nodeDirs) {
    const st = state.readNode(node);
    const r = applyNodeState(emu.node(node), st, emu.runtime.clock.now);
    skipped.push(...r.skipped);
    for (const u of st.unmodelled) unmodelled.push(`${node}: ${u}`);
  }
  return { skipped, unmodelled };
}
