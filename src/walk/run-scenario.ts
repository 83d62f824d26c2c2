/**
 * Run a scenario end to end: build its cluster, bring up the emulation, attach captures, run its flows, and
 * write `walk.pcapng`, one pcap per capture point, `trace.txt` and `trace.json` into `<out>/<scenario>/`.
 * The folder is written under a temporary name and renamed into place at the end, so a failed or interrupted
 * run leaves the previous output untouched and nothing half-written; a folder holding files packetwalk did not
 * write is never replaced (output-files.ts).
 */

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCluster } from '../cluster/build.js';
import type { Cluster } from '../cluster/types.js';
import { attachCapture } from '../capture/attach.js';
import { CaptureRecorder } from '../capture/recorder.js';
import { Emulation } from '../node/emulation.js';
import { ScenarioUnavailable, type Scenario } from '../scenarios/scenario.js';
import { packetsToJson, renderWalkTrace } from '../trace/render.js';
import { renderPathSvg } from '../picture/path-svg.js';
import { walkPageInput, type FlowSource } from '../page/from-walk.js';
import { renderWalkPage } from '../page/walk-html.js';
import { groupFlows } from '../picture/index-html.js';
import { asOutputError, checkReplaceable, FOLDER_MANIFEST, makeTempDir, replaceFolder, unmarkTempDir, type FolderManifest } from '../output/output-files.js';
import { runFlow, sourceLabel, type FlowResult, type FlowSpec } from './flow.js';
import type { WalkResult } from './walk-result.js';

export interface RunOptions {
  /** Base cluster documents (the built-in cluster's, or a user's file's). */
  baseDocuments: readonly object[];
  /** File name used in error messages about the documents. */
  clusterFile: string;
  seed?: number;
  /** Output root; omit to run in memory only (tests, benchmarks). */
  outDir?: string;
  /** Repeat each flow N times (different client ports). */
  count?: number;
  /** Called after each repetition (progress bars). */
  onProgress?: (done: number, total: number) => void;
  /** Replay recorded walks for repeated headers (default true; the files are the same either way). */
  fastPath?: boolean;
  /** Called once the emulation is up, before any walk (e.g. to load a real node's state: `--state`). */
  prepare?: (emu: Emulation) => void;
}

/** A scenario's walk: the common WalkResult (what pictures and pages read) with the scenario and its flows. */
export interface ScenarioResult extends WalkResult {
  scenario: Scenario;
  flows: FlowResult[];
}

/** The cluster a scenario runs on: the base documents plus the scenario's own additions. */
export function scenarioCluster(s: Scenario, baseDocuments: readonly object[], clusterFile: string): Cluster {
  return named(s, () => (s.editDocuments ? buildCluster(s.editDocuments(baseDocuments), `${clusterFile} (as edited by scenario ${s.name})`) : buildCluster(baseDocuments, clusterFile)));
}

/** The scenario's flows on this cluster; a missing endpoint is a ScenarioUnavailable naming the scenario. */
export function scenarioFlows(s: Scenario, cluster: Cluster): FlowSpec[] {
  return named(s, () => {
    const specs = s.flows(cluster);
    for (const f of specs) {
      const src = f.from;
      if (src.kind === 'pod' && !cluster.pods.some((p) => p.namespace === src.namespace && p.name === src.name)) throw new ScenarioUnavailable(`pod ${src.namespace}/${src.name}`);
      if (src.kind === 'external' && !cluster.externalHosts.some((e) => e.name === src.name)) throw new ScenarioUnavailable(`external host ${src.name}`);
    }
    return specs;
  });
}

function named<T>(s: Scenario, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ScenarioUnavailable && !e.scenario) throw new ScenarioUnavailable(e.need, s.name);
    throw e;
  }
}

/** The br0 flows of each node of an emulation, for the page's dump-flows lines. */
export function emulationFlows(emu: Emulation): FlowSource {
  return { flowsOf: (host) => emu.nodes.get(host)?.bridge.flows() ?? [] };
}

/** What walk.html shows for a scenario run (the run must have kept frame bytes: `count` 1). */
export function scenarioPageInput(result: ScenarioResult, seed: number) {
  const s = result.scenario;
  return walkPageInput(
    { packets: result.packets, frames: result.recorder.frames, points: result.recorder.points, flows: emulationFlows(result.emulation) },
    {
      title: s.name,
      subtitle: `${s.figure} · ${s.summary} · seed ${seed}`,
      notes: result.flows.map((f) => ({ text: `${sourceLabel(f.spec.from)} → ${f.spec.toLabel ?? ''} ${f.spec.proto}/${f.spec.to.port}: ${f.detail}`, ok: f.ok })),
      pictureSvg: renderPathSvg(result, { frameAttributes: true }),
    },
  );
}

/** Write one file of a scenario folder; a file-system error names the file (disk full: writeSync has no path). */
function writeIn(dir: string, name: string, data: string): void {
  const p = join(dir, name);
  try {
    writeFileSync(p, data);
  } catch (e) {
    throw asOutputError(e, p);
  }
}

/** Run a scenario to the end (see runScenarioSteps). */
export function runScenario(s: Scenario, opts: RunOptions): ScenarioResult {
  const steps = runScenarioSteps(s, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** What a scenario folder's manifest records for index.html (output-files.ts FOLDER_MANIFEST). */
export interface ScenarioFolderRecord {
  scenario: string;
  figure: string;
  summary: string;
  passed: boolean;
  seed: number;
  cluster: string;
  /** Flow outcomes, identical ones once with a count. */
  flows: { detail: string; ok: boolean; times: number }[];
}

/**
 * Run a scenario, yielding after every conversation so a caller can hand control to the event loop (signals,
 * progress) in a long bulk run. Files are written into `<out>/<scenario>.tmp-<pid>/` and renamed into place at
 * the end; if the run fails or the caller stops the generator (`return()`), the temporary folder and its
 * captures are removed, so only whole folders are ever left.
 */
export function* runScenarioSteps(s: Scenario, opts: RunOptions): Generator<void, ScenarioResult, void> {
  const cluster = scenarioCluster(s, opts.baseDocuments, opts.clusterFile);
  const seed = opts.seed ?? 1;
  const emu = new Emulation(cluster, { seed, fastPath: opts.fastPath });
  opts.prepare?.(emu);
  const finalDir = opts.outDir ? join(opts.outDir, s.name) : undefined;
  if (finalDir) checkReplaceable(finalDir); // before any work: never end a long run by refusing to replace
  const tmpDir = finalDir ? makeTempDir(finalDir) : undefined;
  const count = Math.max(1, opts.count ?? 1);
  let recorder: CaptureRecorder | undefined;
  let finished = false;
  try {
    recorder = new CaptureRecorder(emu.runtime.clock, { dir: tmpDir, index: count === 1, keepBytes: count === 1 });
    attachCapture(emu, recorder);
    emu.runtime.recording = count === 1;
    const specs = scenarioFlows(s, cluster);
    const flows: FlowResult[] = [];
    const total = specs.length * count;
    for (let i = 0; i < count; i++) {
      for (const spec of specs) {
        flows.push(runFlow(emu, spec));
        emu.runtime.clock.advance(1_000_000); // 1 ms between conversations
        opts.onProgress?.(flows.length, total);
        yield;
      }
    }
    recorder.close();
    const packets = emu.runtime.packets;
    const passed = s.expect === 'complete' ? flows.every((f) => f.ok) : !flows[0]?.ok;
    const files = ['walk.pcapng', ...recorder.pcapFiles()];
    const result: ScenarioResult = { scenario: s, cluster, emulation: emu, flows, packets, recorder, passed, files, dir: finalDir };
    if (tmpDir && finalDir) {
      const header = `${s.name} (${s.figure}), seed ${seed}: ${s.summary}\n` + flows.map((f) => `flow ${sourceLabel(f.spec.from)} -> ${f.spec.toLabel ?? ''} ${f.spec.proto}/${f.spec.to.port}: ${f.ok ? 'ok' : 'FAILED'} (${f.detail})`).join('\n');
      writeIn(tmpDir, 'trace.txt', renderWalkTrace(header, packets));
      writeIn(tmpDir, 'trace.json', JSON.stringify({ scenario: s.name, figure: s.figure, summary: s.summary, seed, passed, flows: flows.map((f) => ({ from: sourceLabel(f.spec.from), to: f.spec.toLabel, proto: f.spec.proto, port: f.spec.to.port, clientPort: f.clientPort, ok: f.ok, detail: f.detail })), capturePoints: recorder.points.map((p, i) => ({ ...p, frames: recorder!.counts[i] })).filter((p) => p.frames > 0), packets: packetsToJson(packets) }, null, 1) + '\n');
      files.push('trace.txt', 'trace.json');
      // The picture needs the recorded packets, which bulk runs (--count > 1) do not keep.
      if (count === 1) {
        writeIn(tmpDir, 'path.svg', renderPathSvg(result));
        files.push('path.svg');
        writeIn(tmpDir, 'walk.html', renderWalkPage(scenarioPageInput(result, seed)));
        files.push('walk.html');
      }
      const record: ScenarioFolderRecord = { scenario: s.name, figure: s.figure, summary: s.summary, passed, seed, cluster: opts.clusterFile, flows: groupFlows(flows) };
      const manifest: FolderManifest<ScenarioFolderRecord> = { packetwalk: 'scenario-folder', files, record };
      writeIn(tmpDir, FOLDER_MANIFEST, JSON.stringify(manifest, null, 1) + '\n');
      unmarkTempDir(tmpDir);
      replaceFolder(tmpDir, finalDir);
    }
    finished = true;
    return result;
  } finally {
    if (!finished) {
      recorder?.abort();
      if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    }
  }
}
