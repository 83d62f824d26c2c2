/**
 * Run a scenario end to end: build its cluster, bring up the emulation, attach captures, run its flows, and
 * write `walk.pcapng`, one pcap per capture point, `trace.txt` and `trace.json` into `<out>/<scenario>/`.
 * The folder is written under a temporary name and renamed into place at the end, so a failed or interrupted
 * run leaves the previous output untouched and nothing half-written; a folder holding files packetwalk did not
 * write is never replaced (output/scenario-folders.ts).
 */

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCluster } from '../cluster/build.js';
import type { Cluster } from '../cluster/types.js';
import { attachCapture } from '../capture/attach.js';
import { CaptureRecorder } from '../capture/recorder.js';
import { createFastPath } from '../fastpath/fast-path.js';
import { Emulation } from '../node/emulation.js';
import { ScenarioUnavailable, type Scenario } from './scenario.js';
import { packetsToJson, renderWalkTrace } from '../trace/render.js';
import { renderPathSvg } from '../picture/path-svg.js';
import type { WalkPageInput } from '../page/types.js';
import { walkResultPageInput } from '../page/from-walk-result.js';
import { renderWalkPage } from '../page/walk-html.js';
import { groupFlows } from '../picture/index-html.js';
import { writeOutputFile } from '../output/output-files.js';
import { checkReplaceable, FOLDER_MANIFEST, replaceFolder, type FolderManifest } from '../output/scenario-folders.js';
import { makeTempDir, unmarkTempDir } from '../output/temp-folders.js';
import { FlowTally, paceForPort } from '../walk/bulk.js';
import { runFlow, sourceLabel, sourceStack, type FlowResult, type FlowSpec } from '../walk/flow.js';
import type { WalkResult } from '../walk/walk-result.js';

export interface RunOptions {
  /** Base cluster documents (the built-in cluster's, or a user's file's). */
  baseDocuments: readonly object[];
  /** The base documents built (saves building them again for a scenario that adds nothing to them). */
  baseCluster?: Cluster;
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
  /** Each flow's result; in a bulk run (count > 1) the first conversation of each flow only (see `tally`). */
  flows: FlowResult[];
  /** Every conversation's outcome, counted. */
  tally: FlowTally;
  /** Conversations per flow (`--count`). */
  count: number;
  /** Wall-clock time of the walks (ms; not written to any file, so files stay reproducible). */
  elapsedMs: number;
}

/** The cluster a scenario runs on: the base documents plus the scenario's own additions. */
export function scenarioCluster(s: Scenario, baseDocuments: readonly object[], clusterFile: string): Cluster {
  return named(s, () =>
    s.editDocuments
      ? buildCluster(s.editDocuments(baseDocuments), `${clusterFile} (as edited by scenario ${s.name})`)
      : buildCluster(baseDocuments, clusterFile),
  );
}

/** The scenario's flows on this cluster; a missing endpoint is a ScenarioUnavailable naming the scenario. */
export function scenarioFlows(s: Scenario, cluster: Cluster): FlowSpec[] {
  return named(s, () => {
    const specs = s.flows(cluster);
    for (const f of specs) {
      const src = f.from;
      if (src.kind === 'pod' && !cluster.pods.some((p) => p.namespace === src.namespace && p.name === src.name))
        throw new ScenarioUnavailable(`pod ${src.namespace}/${src.name}`);
      if (src.kind === 'external' && !cluster.externalHosts.some((e) => e.name === src.name))
        throw new ScenarioUnavailable(`external host ${src.name}`);
    }
    return specs;
  });
}

/** A bulk run's conversations grouped by outcome for index.html: completed ones, then each failure kind with an example. */
function tallyGroups(t: FlowTally, first: readonly FlowResult[]): { detail: string; ok: boolean; times: number }[] {
  const out: { detail: string; ok: boolean; times: number }[] = [];
  if (t.outcomes.completed > 0)
    out.push({
      detail: first.find((f) => f.ok)?.detail ?? 'conversation completed',
      ok: true,
      times: t.outcomes.completed,
    });
  for (const kind of ['refused', 'unanswered', 'no-port'] as const) {
    if (t.outcomes[kind] > 0) out.push({ detail: t.examples.get(kind) ?? kind, ok: false, times: t.outcomes[kind] });
  }
  return out;
}

/** The lines trace.txt adds for a bulk run: what was traced, and every conversation counted. */
function bulkHeader(t: FlowTally, count: number): string {
  const o = t.outcomes;
  return (
    `bulk run: ${count} conversations per flow; the first of each is traced below, the rest are counted\n` +
    `conversations: ${t.total} (${o.completed} completed, ${o.refused} refused, ${o.unanswered} unanswered, ${o['no-port']} failed with EADDRNOTAVAIL)` +
    (t.portWaits
      ? `; the client waited ${t.portWaits} times for a port in TIME_WAIT (${(t.portWaitNs / 1e9).toFixed(3)} s of virtual time)`
      : '')
  );
}

function named<T>(s: Scenario, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ScenarioUnavailable && !e.scenario) throw new ScenarioUnavailable(e.need, s.name);
    throw e;
  }
}

/** What walk.html shows for a scenario run (the run must have kept frame bytes: `count` 1). */
export function scenarioPageInput(result: ScenarioResult, seed: number): WalkPageInput {
  const s = result.scenario;
  return walkResultPageInput(
    result,
    `${s.figure} · ${s.summary} · seed ${seed}`,
    result.flows.map((f) => ({
      text: `${sourceLabel(f.spec.from)} → ${f.spec.toLabel ?? ''} ${f.spec.proto}/${f.spec.to.port}: ${f.detail}`,
      ok: f.ok,
    })),
  );
}

/** Run a scenario to the end (see runScenarioSteps). */
export function runScenario(s: Scenario, opts: RunOptions): ScenarioResult {
  const steps = runScenarioSteps(s, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** What a scenario folder's manifest records for index.html (scenario-folders.ts FOLDER_MANIFEST). */
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
  const cluster =
    !s.editDocuments && opts.baseCluster ? opts.baseCluster : scenarioCluster(s, opts.baseDocuments, opts.clusterFile);
  const seed = opts.seed ?? 1;
  const emu = new Emulation(cluster, { seed, fastPath: opts.fastPath === false ? undefined : createFastPath });
  opts.prepare?.(emu);
  const finalDir = opts.outDir ? join(opts.outDir, s.name) : undefined;
  if (finalDir) checkReplaceable(finalDir); // before any work: never end a long run by refusing to replace
  const tmpDir = finalDir ? makeTempDir(finalDir) : undefined;
  const count = Math.max(1, opts.count ?? 1);
  let recorder: CaptureRecorder | undefined;
  let finished = false;
  try {
    // A bulk run (count > 1) traces and indexes its first conversation of each flow in full (trace.txt, trace.json,
    // path.svg show it) and counts the rest: its memory and files stay bounded whatever the count.
    recorder = new CaptureRecorder(emu.runtime.clock, { dir: tmpDir, index: true, keepBytes: true });
    attachCapture(emu, recorder);
    emu.runtime.tracing = true;
    const specs = scenarioFlows(s, cluster);
    const clients = specs.map((spec) => sourceStack(emu, spec.from));
    const flows: FlowResult[] = [];
    const tally = new FlowTally();
    const total = specs.length * count;
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      if (i === 1) {
        emu.runtime.tracing = false;
        recorder.stopIndexing();
      }
      for (let k = 0; k < specs.length; k++) {
        const spec = specs[k]!;
        if (count > 1) paceForPort(clients[k]!, spec, tally);
        const f = runFlow(emu, spec);
        tally.add(f);
        if (i === 0) flows.push(f);
        emu.runtime.clock.advance(1_000_000); // 1 ms between conversations
        opts.onProgress?.(tally.total, total);
        yield;
      }
    }
    const elapsedMs = performance.now() - started;
    recorder.close();
    const packets = emu.runtime.packets;
    const passed = s.expect === 'complete' ? tally.outcomes.completed === tally.total : !flows[0]?.ok;
    const files = ['walk.pcapng', ...recorder.pcapFiles()];
    const result: ScenarioResult = {
      scenario: s,
      cluster,
      emulation: emu,
      flows,
      tally,
      count,
      elapsedMs,
      packets,
      recorder,
      passed,
      files,
      dir: finalDir,
    };
    if (tmpDir && finalDir) {
      const flowLines = flows.map(
        (f) =>
          `flow ${sourceLabel(f.spec.from)} -> ${f.spec.toLabel ?? ''} ${f.spec.proto}/${f.spec.to.port}: ${f.ok ? 'ok' : 'FAILED'} (${f.detail})`,
      );
      const bulk = count > 1 ? `\n${bulkHeader(tally, count)}` : '';
      const header = `${s.name} (${s.figure}), seed ${seed}: ${s.summary}\n` + flowLines.join('\n') + bulk;
      writeOutputFile(join(tmpDir, 'trace.txt'), renderWalkTrace(header, packets));
      const bulkJson =
        count > 1 ? { count, conversations: tally.toJSON(), drops: Object.fromEntries(emu.runtime.drops) } : {};
      writeOutputFile(
        join(tmpDir, 'trace.json'),
        JSON.stringify(
          {
            scenario: s.name,
            figure: s.figure,
            summary: s.summary,
            seed,
            passed,
            ...bulkJson,
            flows: flows.map((f) => ({
              from: sourceLabel(f.spec.from),
              to: f.spec.toLabel,
              proto: f.spec.proto,
              port: f.spec.to.port,
              clientPort: f.clientPort,
              ok: f.ok,
              detail: f.detail,
            })),
            capturePoints: recorder
              .pointIdsInOrder()
              .map((i) => ({ ...recorder!.points[i]!, frames: recorder!.counts[i]! }))
              .filter((p) => p.frames > 0),
            packets: packetsToJson(packets),
          },
          null,
          1,
        ) + '\n',
      );
      files.push('trace.txt', 'trace.json');
      // The picture shows the first conversation (the only one a bulk run traces).
      writeOutputFile(join(tmpDir, 'path.svg'), renderPathSvg(result));
      files.push('path.svg');
      if (count === 1) {
        writeOutputFile(join(tmpDir, 'walk.html'), renderWalkPage(scenarioPageInput(result, seed)));
        files.push('walk.html');
      }
      const record: ScenarioFolderRecord = {
        scenario: s.name,
        figure: s.figure,
        summary: s.summary,
        passed,
        seed,
        cluster: opts.clusterFile,
        flows: count > 1 ? tallyGroups(tally, flows) : groupFlows(flows),
      };
      const manifest: FolderManifest<ScenarioFolderRecord> = { packetwalk: 'scenario-folder', files, record };
      writeOutputFile(join(tmpDir, FOLDER_MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
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
