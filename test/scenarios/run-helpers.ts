/**
 * Shared by the scenario tests: run a scenario into a temp folder once per test file and hand back its files.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { findScenario } from '../../src/scenarios/catalog.js';
import { runScenario, type ScenarioResult } from '../../src/scenarios/run-scenario.js';

const roots: string[] = [];
process.on('exit', () => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Seed the goldens are made with. */
export const GOLDEN_SEED = 1;

export function runToTemp(name: string, seed = GOLDEN_SEED): ScenarioResult & { dir: string } {
  const s = findScenario(name);
  if (!s) throw new Error(`no scenario ${name}`);
  const root = mkdtempSync(join(tmpdir(), 'packetwalk-test-'));
  roots.push(root);
  const r = runScenario(s, { baseDocuments: builtinClusterDocuments(), clusterFile: '<builtin>', seed, outDir: root });
  return r as ScenarioResult & { dir: string };
}

export function listFiles(dir: string): string[] {
  return readdirSync(dir).sort();
}

export function read(dir: string, file: string): Buffer {
  return readFileSync(join(dir, file));
}
