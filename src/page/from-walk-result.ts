/**
 * walk.html's input from a finished walk (a scenario run, a replay, any WalkResult that kept frame bytes): the
 * traced packets, the captured frames, each node's br0 flows for dump-flows lines, and the path picture with
 * its hops marked by frame number.
 */

import type { Emulation } from '../node/emulation.js';
import { walkPageInput, type FlowSource } from './from-walk.js';
import type { WalkPageInput } from './types.js';
import { renderPathSvg } from '../picture/path-svg.js';
import type { WalkResult } from '../walk/walk-result.js';

/** The br0 flows of each node of an emulation, for the page's dump-flows lines. */
export function emulationFlows(emu: Emulation): FlowSource {
  return { flowsOf: (host) => emu.nodes.get(host)?.bridge.flows() ?? [] };
}

/** The page input of a walk; `notes` default to the walk's flow lines. */
export function walkResultPageInput(
  result: WalkResult,
  subtitle: string,
  notes?: { text: string; ok: boolean }[],
): WalkPageInput {
  return walkPageInput(
    {
      packets: result.packets,
      frames: result.recorder.frames,
      points: result.recorder.points,
      flows: emulationFlows(result.emulation),
    },
    {
      title: result.scenario.name,
      subtitle,
      notes: notes ?? result.flows.map((f) => ({ text: f.detail, ok: f.ok })),
      pictureSvg: renderPathSvg(result, { frameAttributes: true }),
    },
  );
}
