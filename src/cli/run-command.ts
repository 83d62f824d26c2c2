/**
 * `packetwalk run`: scenarios walked into their folders under --out, a summary printed per scenario, and
 * index.html listing every scenario folder there. SIGINT/SIGTERM stop it between conversations, leaving only
 * whole folders.
 */

import { join } from 'node:path';
import pc from 'picocolors';
import type { Emulation } from '../node/emulation.js';
import { ensureOutputDir, writeFileAtomic } from '../output/output-files.js';
import { checkReplaceable, checkReplaceableFile, readFolderManifest } from '../output/scenario-folders.js';
import { removeStaleTempDirs } from '../output/temp-folders.js';
import { renderIndexHtml, type IndexEntry } from '../picture/index-html.js';
import { SCENARIOS, findScenario } from '../scenarios/catalog.js';
import { runScenarioSteps, type ScenarioFolderRecord, type ScenarioResult } from '../scenarios/run-scenario.js';
import { ScenarioUnavailable } from '../scenarios/scenario.js';
import { applyStateDir } from '../state/emulate.js';
import { loadStateDir } from '../state/state-dir.js';
import { intOption, parse, UsageError } from './args.js';
import { clusterSource } from './cluster-source.js';
import { Interrupted } from './interrupted.js';
import { ProgressBar } from './progress.js';
import { reportApplied } from './state-notes.js';
import { printWalkSummary } from './summary.js';

const RUN_HELP = `Usage: packetwalk run [SCENARIO...|--all] [--cluster FILE] [--out DIR] [--seed N] [--count N] [--no-fast-path] [--json]

Runs walks and writes, per scenario, DIR/<scenario>/ with walk.pcapng (every capture point as a named
interface, hop comments), one .pcap per capture point, trace.txt and trace.json.

Options:
  --all            run every scenario (the default when none is named)
  --cluster FILE   a cluster file (YAML/JSON, Kubernetes-shaped objects); default: the built-in ARO cluster
  --out DIR        output root (default pcaps/out)
  --seed N         seed for ports, ISNs, IP IDs and endpoint choice (default 1)
  --count N        repeat each flow N times with different client ports (bulk captures): prints counts
                   by outcome instead of a line per conversation, traces the first conversation in full;
                   when every ephemeral port is in TIME_WAIT the client waits on the virtual clock
  --no-fast-path   walk every packet hop by hop instead of replaying recorded walks for repeated
                   headers (the files are byte-identical either way; for comparison and profiling)
  --state DIR      walk a real cluster's state directory: its objects, and each node's actual flows, groups,
                   iptables rules, conntrack entries and routes (nodes/<node>/, see 'packetwalk doctor')
  --json           print a JSON summary instead of text

Examples:
  packetwalk run pod-to-pod-cross-node
  packetwalk run --all --out /tmp/pw --seed 7
`;

/**
 * Drive a scenario's steps, giving the event loop a turn every 50 ms so SIGINT/SIGTERM are seen during a long bulk
 * run; on a signal the steps are stopped (their temporary folder removed) and Interrupted is thrown.
 */
async function driveSteps<T>(
  steps: Generator<void, T, void>,
  signal: () => 'SIGINT' | 'SIGTERM' | undefined,
): Promise<T> {
  let turn = Date.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (Date.now() - turn < 50) continue;
    await new Promise((resolve) => setImmediate(resolve));
    turn = Date.now();
    const sig = signal();
    if (sig) {
      steps.return(undefined as T);
      throw new Interrupted(sig);
    }
  }
}

/** `packetwalk run [SCENARIO...|--all]`. */
export async function cmdRun(args: string[]): Promise<number> {
  const a = parse(args, {
    all: { type: 'boolean' },
    cluster: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    count: { type: 'string' },
    'no-fast-path': { type: 'boolean' },
    json: { type: 'boolean' },
    state: { type: 'string' },
  });
  if (a.flag('help')) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const seed = intOption('seed', a.str('seed'), 0, 0xffffffff) ?? 1;
  const count = intOption('count', a.str('count'), 1, 10_000_000) ?? 1;
  const names = a.positionals.length === 0 || a.flag('all') ? SCENARIOS.map((s) => s.name) : a.positionals;
  const scenarios = names.map((n) => {
    const s = findScenario(n);
    if (!s) throw new UsageError(`unknown scenario ${JSON.stringify(n)} (see 'packetwalk scenarios')`);
    return s;
  });
  if (a.str('state') && a.str('cluster')) throw new UsageError('give --cluster FILE or --state DIR, not both');
  const state = a.str('state') ? loadStateDir(a.str('state')!) : undefined;
  const src = state
    ? { docs: state.objects.sources.map((o) => o.doc as object), file: state.dir, cluster: state.cluster }
    : clusterSource(a.str('cluster'));
  const prepare = state ? (emu: Emulation) => reportApplied(applyStateDir(emu, state)) : undefined;
  const outDir = ensureOutputDir(a.str('out') ?? 'pcaps/out');
  for (const dir of removeStaleTempDirs(outDir, new Set(SCENARIOS.map((s) => s.name))))
    process.stderr.write(`packetwalk: removed ${dir}, left by an interrupted run\n`);
  // Refuse before any work, not after it: a scenario folder or an index.html that packetwalk did not write.
  for (const s of scenarios) checkReplaceable(join(outDir, s.name));
  checkReplaceableFile(join(outDir, 'index.html'), INDEX_MARK);
  let signal: 'SIGINT' | 'SIGTERM' | undefined;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM'): void => {
    signal ??= sig;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const results: ScenarioResult[] = [];
  const color = pc.isColorSupported && !a.flag('json');
  const named = a.positionals.length > 0 && !a.flag('all');
  let error: unknown;
  try {
    for (const s of scenarios) {
      const bar = new ProgressBar(s.name);
      let r: ScenarioResult;
      try {
        r = await driveSteps(
          runScenarioSteps(s, {
            get baseDocuments() {
              return src.docs;
            },
            baseCluster: src.cluster,
            clusterFile: src.file,
            seed,
            outDir,
            count,
            fastPath: !a.flag('no-fast-path'),
            prepare,
            onProgress: (d, t) => bar.update(d, t),
          }),
          () => signal,
        );
      } catch (e) {
        // A scenario asked for by name must run; with --all, one the cluster cannot host is skipped with a note.
        if (!(e instanceof ScenarioUnavailable)) throw e;
        if (named) throw new UsageError(e.message);
        process.stderr.write(`packetwalk: skipped: ${e.message}\n`);
        continue;
      } finally {
        bar.done();
      }
      results.push(r);
      if (!a.flag('json')) printWalkSummary(r, color);
      if (signal) throw new Interrupted(signal);
    }
  } catch (e) {
    error = e;
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // index.html lists every scenario folder packetwalk wrote here, also when the run stopped early.
  try {
    if (results.length > 0)
      writeIndex(
        outDir,
        results.map((r) => r.scenario.name),
        `${src.file}, seed ${seed}`,
      );
  } catch (e) {
    error ??= e;
  }
  if (error !== undefined) throw error;
  if (results.length === 0)
    throw new UsageError(`none of the scenarios can run on ${src.file}; try 'packetwalk trace' for an ad-hoc walk`);
  if (a.flag('json')) {
    process.stdout.write(
      JSON.stringify(
        results.map((r) => ({
          scenario: r.scenario.name,
          passed: r.passed,
          dir: r.dir,
          files: r.files,
          flows: r.flows.map((f) => ({ ok: f.ok, clientPort: f.clientPort, detail: f.detail })),
          ...(r.count > 1
            ? {
                count: r.count,
                conversations: r.tally.toJSON(),
                drops: Object.fromEntries(r.emulation.runtime.drops),
                seconds: r.elapsedMs / 1000,
                conversationsPerSecond: Math.round(r.tally.total / Math.max(r.elapsedMs / 1000, 1e-3)),
                bytesWritten: r.recorder.bytesWritten,
              }
            : {}),
          packets: r.packets.length,
          frames: r.recorder.counts.reduce((a, b) => a + b, 0),
        })),
        null,
        2,
      ) + '\n',
    );
  } else {
    const failed = results.filter((r) => !r.passed);
    process.stdout.write(
      `\n${results.length - failed.length}/${results.length} scenarios ended as expected; files in ${outDir} (open ${join(outDir, 'index.html')})\n`,
    );
  }
  return results.every((r) => r.passed) ? 0 : 1;
}

/** What every index.html packetwalk writes contains (renderIndexHtml's default title). */
const INDEX_MARK = '<title>packetwalk: walks</title>';

/**
 * index.html for every scenario folder in `outDir` that packetwalk wrote (it has a manifest): this run's first,
 * in run order, then folders earlier runs left, each marked with the cluster and seed it was run with.
 */
function writeIndex(outDir: string, thisRun: string[], subtitle: string): void {
  const entries: IndexEntry[] = [];
  const order = [...thisRun, ...SCENARIOS.map((s) => s.name).filter((n) => !thisRun.includes(n))];
  let earlier = 0;
  for (const name of order) {
    const m = readFolderManifest<ScenarioFolderRecord>(join(outDir, name));
    if (!m) continue;
    const rec = m.record;
    const old = !thisRun.includes(name);
    if (old) earlier++;
    entries.push({
      name,
      figure: rec.figure,
      summary: old ? `${rec.summary} (from an earlier run: ${rec.cluster}, seed ${rec.seed})` : rec.summary,
      passed: rec.passed,
      files: m.files,
      flows: rec.flows.map((f) => ({ ok: f.ok, detail: f.times > 1 ? `${f.detail} (×${f.times})` : f.detail })),
    });
  }
  const note = earlier > 0 ? `; ${earlier} scenario folder${earlier === 1 ? '' : 's'} from earlier runs` : '';
  writeFileAtomic(join(outDir, 'index.html'), renderIndexHtml(entries, { subtitle: subtitle + note }));
}
