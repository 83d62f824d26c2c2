/**
 * Run a scenario end to end: build its cluster, bring up the emulation, attach captures, run its flows, and
 * write `walk.pcapng`, one pcap per capture point, `trace.txt` and `trace.json` into `<out>/<scenario>/`.
 * The folder is written under a temporary name and renamed into place at the end, so a failed run leaves the
 * previous output untouched and nothing half-written.
 */

import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCluster } from '../cluster/build.js';
import type { Cluster } from '../cluster/types.js';
import { attachCapture } from '../capture/attach.js';
import { CaptureRecorder } from '../capture/recorder.js';
import { Emulation } from '../node/emulation.js';
import type { WalkPacket } from '../node/runtime.js';
import { ScenarioUnavailable, type Scenario } from '../scenarios/scenario.js';
import { packetsToJson, renderWalkTrace } from '../trace/render.js';
import { renderPathSvg } from '../picture/path-svg.js';
import { runFlow, sourceLabel, type FlowResult, type FlowSpec } from './flow.js';

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

export interface ScenarioResult {
  scenario: Scenario;
  cluster: Cluster;
  emulation: Emulation;
  flows: FlowResult[];
  packets: WalkPacket[];
  recorder: CaptureRecorder;
  /** True when the outcome matches the scenario's expectation. */
  passed: boolean;
  /** Files written, relative to the scenario folder. */
  files: string[];
  dir?: string;
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

export function runScenario(s: Scenario, opts: RunOptions): ScenarioResult {
  const cluster = scenarioCluster(s, opts.baseDocuments, opts.clusterFile);
  const seed = opts.seed ?? 1;
  const emu = new Emulation(cluster, { seed, fastPath: opts.fastPath });
  opts.prepare?.(emu);
  const finalDir = opts.outDir ? join(opts.outDir, s.name) : undefined;
  const tmpDir = finalDir ? `${finalDir}.tmp-${process.pid}` : undefined;
  if (tmpDir) {
    rmSync(tmpDir, { recursive: true, force: true });
    mkdirSync(tmpDir, { recursive: true });
  }
  const count = Math.max(1, opts.count ?? 1);
  const recorder = new CaptureRecorder(emu.runtime.clock, { dir: tmpDir, index: count === 1, keepBytes: count === 1 });
  try {
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
      }
    }
    recorder.close();
    const packets = emu.runtime.packets;
    const passed = s.expect === 'complete' ? flows.every((f) => f.ok) : !flows[0]?.ok;
    const files = ['walk.pcapng', ...recorder.pcapFiles()];
    const result: ScenarioResult = { scenario: s, cluster, emulation: emu, flows, packets, recorder, passed, files, dir: finalDir };
    if (tmpDir && finalDir) {
      const header = `${s.name} (${s.figure}), seed ${seed}: ${s.summary}\n` + flows.map((f) => `flow ${sourceLabel(f.spec.from)} -> ${f.spec.toLabel ?? ''} ${f.spec.proto}/${f.spec.to.port}: ${f.ok ? 'ok' : 'FAILED'} (${f.detail})`).join('\n');
      writeFileSync(join(tmpDir, 'trace.txt'), renderWalkTrace(header, packets));
      writeFileSync(join(tmpDir, 'trace.json'), JSON.stringify({ scenario: s.name, figure: s.figure, summary: s.summary, seed, passed, flows: flows.map((f) => ({ from: sourceLabel(f.spec.from), to: f.spec.toLabel, proto: f.spec.proto, port: f.spec.to.port, clientPort: f.clientPort, ok: f.ok, detail: f.detail })), capturePoints: recorder.points.map((p, i) => ({ ...p, frames: recorder.counts[i] })).filter((p) => p.frames > 0), packets: packetsToJson(packets) }, null, 1) + '\n');
      files.push('trace.txt', 'trace.json');
      // The picture needs the recorded packets, which bulk runs (--count > 1) do not keep.
      if (count === 1) {
        writeFileSync(join(tmpDir, 'path.svg'), renderPathSvg(result));
        files.push('path.svg');
      }
      rmSync(finalDir, { recursive: true, force: true });
      renameSync(tmpDir, finalDir);
    }
    return result;
  } catch (e) {
    recorder.abort();
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    throw e;
  }
}
