/**
 * Every scenario of the catalogue, run once on the built-in cluster with the golden seed, so the reference suites
 * cover whatever scenarios exist. With `outDir` the runs also write their pcapng, pcaps and traces there.
 */

import type { CapturedFrame } from '../../src/capture/recorder.js';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { SCENARIOS } from '../../src/scenarios/catalog.js';
import { runScenario, type ScenarioResult } from '../../src/scenarios/run-scenario.js';

export const REFERENCE_SEED = 1;

export function runAllScenarios(outDir?: string): ScenarioResult[] {
  const docs = builtinClusterDocuments();
  return SCENARIOS.map((s) =>
    runScenario(s, { baseDocuments: docs, clusterFile: '<builtin>', seed: REFERENCE_SEED, outDir }),
  );
}

/** The first frame of the same packet recorded at capture point `point` after frame `after` (by number). */
export function nextFrameAt(
  r: ScenarioResult,
  after: CapturedFrame,
  point: number,
  direction: 'inbound' | 'outbound',
): CapturedFrame | undefined {
  return r.recorder.frames.find(
    (f) => f.walkIndex === after.walkIndex && f.number > after.number && f.point === point && f.direction === direction,
  );
}

/** The last frame of the same packet recorded at `point` before frame `before`. */
export function previousFrameAt(
  r: ScenarioResult,
  before: CapturedFrame,
  point: number,
  direction: 'inbound' | 'outbound',
): CapturedFrame | undefined {
  let found: CapturedFrame | undefined;
  for (const f of r.recorder.frames) {
    if (f.number >= before.number) break;
    if (f.walkIndex === before.walkIndex && f.point === point && f.direction === direction) found = f;
  }
  return found;
}
