/**
 * The commands. Each parses its own options, validates them (unknown option or bad value: UsageError), calls
 * the library and prints.
 */

import { join } from 'node:path';
import pc from 'picocolors';
import { builtinClusterDocuments } from '../cluster/builtin.js';
import { buildCluster } from '../cluster/build.js';
import { ConfigError } from '../cluster/errors.js';
import { loadClusterFile, readClusterFile, readClusterObjects } from '../cluster/load.js';
import { formatTable } from '../cluster/tables.js';
import type { Cluster } from '../cluster/types.js';
import { Emulation } from '../node/emulation.js';
import { SCENARIOS, findScenario } from '../scenarios/catalog.js';
import { ScenarioUnavailable } from '../scenarios/scenario.js';
import { runScenarioSteps, type ScenarioFolderRecord, type ScenarioResult } from '../walk/run-scenario.js';
import { checkReplaceable, checkReplaceableFile, ensureOutputDir, readFolderManifest, removeStaleTempDirs, writeFileAtomic } from '../output/output-files.js';
import { intOption, parse, UsageError } from './args.js';
import { printWalkSummary } from './summary.js';
import { cmdConntrack, cmdIptables, cmdTrace, emulationFor, checkNode, reportApplied } from './inspect.js';
import { applyStateDir } from '../state/emulate.js';
import { loadStateDir } from '../state/state-dir.js';
import { ProgressBar } from './progress.js';
import { exportClusterList } from '../state/export.js';
import { cmdCollect, cmdDoctor } from './doctor.js';
import { renderIndexHtml, type IndexEntry } from '../picture/index-html.js';
import { cmdReplay } from './replay-command.js';

const HELP = `packetwalk — emulate the OpenShift SDN data path with real packet bytes

Usage: packetwalk <command> [options]

Commands:
  run [SCENARIO...|--all]   run scenarios; write pcapng, pcaps and traces per scenario
  scenarios                 list the scenarios with the seed figure each reproduces
  cluster [TABLE]           show the cluster like 'oc get' (hostsubnets, netnamespaces, pods, services, clusternetwork)
  trace --from A --to B     an ad-hoc walk between two endpoints, printed like ofproto/trace per bridge
  flows --node NODE         br0 flows of a node as 'ovs-ofctl -O OpenFlow13 dump-flows br0' prints them
  iptables --node NODE      the node's iptables rules in iptables-save format
  conntrack --node NODE     the node's conntrack table after a scenario, like 'conntrack -L'
  doctor --state DIR        diagnose a real cluster from files: what differs from OpenShift SDN, which walks fail
  collect                   print the (read-only) oc commands that fill a state directory from a live cluster
  replay FILE --at POINT    inject a capture (pcap/pcapng) at a pod, node NIC, gateway or external host

Run 'packetwalk <command> --help' for a command's options.
`;

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

export interface ClusterSource {
  /** The file's objects as parsed (what scenarios edit); for a file, read again on first use (see clusterSource). */
  readonly docs: object[];
  file: string;
  /** The documents built and validated (built once: a big file takes seconds). */
  cluster: Cluster;
}

export function clusterSource(file: string | undefined): ClusterSource {
  if (!file) {
    const docs = builtinClusterDocuments();
    return { docs, file: '<builtin>', cluster: buildCluster(docs, '<builtin>') };
  }
  // Validate now (errors name document positions), before anything runs. The parsed documents are not kept: a big
  // file's take several times the memory of its Cluster, and only scenarios that edit them (and replays, and
  // `cluster --output`) need them, so those read the file again.
  const cluster = loadClusterFile(file);
  let docs: object[] | undefined;
  return {
    get docs(): object[] {
      return (docs ??= readClusterObjects(readClusterFile(file), file).map((o) => o.doc as object));
    },
    file,
    cluster,
  };
}

function loadCluster(file: string | undefined): Cluster {
  return clusterSource(file).cluster;
}

export async function runCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    case 'run':
      return cmdRun(rest);
    case 'scenarios':
      return cmdScenarios(rest);
    case 'cluster':
      return cmdCluster(rest);
    case 'flows':
      return cmdFlows(rest);
    case 'trace':
      return cmdTrace(rest, clusterSource);
    case 'iptables':
      return cmdIptables(rest, clusterSource);
    case 'conntrack':
      return cmdConntrack(rest, clusterSource);
    case 'doctor':
      return cmdDoctor(rest);
    case 'collect':
      return cmdCollect(rest);
    case 'replay':
      return cmdReplay(rest, clusterSource);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)} (try 'packetwalk --help')`);
  }
}

/** A run stopped by SIGINT or SIGTERM: exit 128 + the signal number, as a shell reports it. */
export class Interrupted extends Error {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}; unfinished files were removed, finished scenario folders are complete`);
  }

  get exitCode(): number {
    return this.signal === 'SIGINT' ? 130 : 143;
  }
}

/**
 * Drive a scenario's steps, giving the event loop a turn every 50 ms so SIGINT/SIGTERM are seen during a long bulk
 * run; on a signal the steps are stopped (their temporary folder removed) and Interrupted is thrown.
 */
async function driveSteps<T>(steps: Generator<void, T, void>, signal: () => 'SIGINT' | 'SIGTERM' | undefined): Promise<T> {
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

async function cmdRun(args: string[]): Promise<number> {
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
  const src = state ? { docs: state.objects.sources.map((o) => o.doc as object), file: state.dir, cluster: state.cluster } : clusterSource(a.str('cluster'));
  const prepare = state ? (emu: Emulation) => reportApplied(applyStateDir(emu, state)) : undefined;
  const outDir = ensureOutputDir(a.str('out') ?? 'pcaps/out');
  for (const dir of removeStaleTempDirs(outDir, new Set(SCENARIOS.map((s) => s.name)))) process.stderr.write(`packetwalk: removed ${dir}, left by an interrupted run\n`);
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
        r = await driveSteps(runScenarioSteps(s, { get baseDocuments() { return src.docs; }, baseCluster: src.cluster, clusterFile: src.file, seed, outDir, count, fastPath: !a.flag('no-fast-path'), prepare, onProgress: (d, t) => bar.update(d, t) }), () => signal);
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
    if (results.length > 0) writeIndex(outDir, results.map((r) => r.scenario.name), `${src.file}, seed ${seed}`);
  } catch (e) {
    error ??= e;
  }
  if (error !== undefined) throw error;
  if (results.length === 0) throw new UsageError(`none of the scenarios can run on ${src.file}; try 'packetwalk trace' for an ad-hoc walk`);
  if (a.flag('json')) {
    process.stdout.write(JSON.stringify(results.map((r) => ({
      scenario: r.scenario.name, passed: r.passed, dir: r.dir, files: r.files,
      flows: r.flows.map((f) => ({ ok: f.ok, clientPort: f.clientPort, detail: f.detail })),
      ...(r.count > 1 ? { count: r.count, conversations: r.tally.toJSON(), drops: Object.fromEntries(r.emulation.runtime.drops), seconds: r.elapsedMs / 1000, conversationsPerSecond: Math.round(r.tally.total / Math.max(r.elapsedMs / 1000, 1e-3)), bytesWritten: r.recorder.bytesWritten } : {}),
      packets: r.packets.length, frames: r.recorder.counts.reduce((a, b) => a + b, 0),
    })), null, 2) + '\n');
  } else {
    const failed = results.filter((r) => !r.passed);
    process.stdout.write(`\n${results.length - failed.length}/${results.length} scenarios ended as expected; files in ${outDir} (open ${join(outDir, 'index.html')})\n`);
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

function cmdScenarios(args: string[]): number {
  const a = parse(args, { json: { type: 'boolean' } });
  if (a.flag('help')) {
    process.stdout.write('Usage: packetwalk scenarios [--json]\n\nLists every scenario, the seed figure it reproduces and what it shows.\n');
    return 0;
  }
  if (a.flag('json')) {
    process.stdout.write(JSON.stringify(SCENARIOS.map((s) => ({ name: s.name, figure: s.figure, summary: s.summary })), null, 2) + '\n');
    return 0;
  }
  const w = Math.max(...SCENARIOS.map((s) => s.name.length));
  for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(w)}  ${s.figure}\n${' '.repeat(w)}  ${s.summary}\n`);
  return 0;
}

const TABLES = ['hostsubnets', 'netnamespaces', 'pods', 'services', 'clusternetwork'] as const;

function cmdCluster(args: string[]): number {
  const a = parse(args, { cluster: { type: 'string' }, output: { type: 'string', short: 'o' } });
  if (a.flag('help')) {
    process.stdout.write(`Usage: packetwalk cluster [${TABLES.join('|')}] [--cluster FILE] [--output yaml|json]\n\nShows the cluster as 'oc get' prints it; with --cluster, validates a cluster file first. --output yaml|json\nprints the cluster's objects as one 'oc get -o yaml' List (a state directory's objects, a cluster file).\n\nExamples:\n  packetwalk cluster hostsubnets\n  packetwalk cluster pods --cluster my-cluster.yaml\n  packetwalk cluster --output yaml > state/cluster.yaml\n`);
    return 0;
  }
  const output = a.str('output');
  if (output !== undefined) {
    if (output !== 'yaml' && output !== 'json') throw new UsageError(`--output must be yaml or json, got ${JSON.stringify(output)}`);
    if (a.positionals.length) throw new UsageError('--output prints every object; leave out the table name');
    process.stdout.write(exportClusterList(clusterSource(a.str('cluster')).docs, output));
    return 0;
  }
  const cluster = loadCluster(a.str('cluster'));
  const which = a.positionals.length ? a.positionals : [...TABLES];
  for (const t of which) {
    if (!(TABLES as readonly string[]).includes(t)) throw new UsageError(`unknown table ${JSON.stringify(t)}; one of ${TABLES.join(', ')}`);
  }
  process.stdout.write(which.map((t) => formatTable(cluster, t as (typeof TABLES)[number]).trimEnd() + '\n').join('\n'));
  return 0;
}

function cmdFlows(args: string[]): number {
  const a = parse(args, { node: { type: 'string' }, table: { type: 'string' }, format: { type: 'string' }, cluster: { type: 'string' }, scenario: { type: 'string' }, seed: { type: 'string' } });
  if (a.flag('help')) {
    process.stdout.write(`Usage: packetwalk flows --node NODE [--table N] [--format dump|ofctl] [--scenario NAME] [--cluster FILE]\n\nPrints the node's br0 flows as 'ovs-ofctl -O OpenFlow13 dump-flows br0' does (--format dump, the default)\nor as add-flows input for a real Open vSwitch (--format ofctl; groups follow after a line '# groups').\nWith --scenario, after running that scenario on the node's cluster, so n_packets/n_bytes count its packets.\n\nExamples:\n  packetwalk flows --node aro2-p8bjm-worker-northeurope1-qt8l7 --table 90\n  packetwalk flows --node aro2-p8bjm-worker-northeurope1-qt8l7 --format ofctl > br0.flows\n`);
    return 0;
  }
  const table = intOption('table', a.str('table'), 0, 254);
  const format = a.str('format') ?? 'dump';
  if (format !== 'dump' && format !== 'ofctl') throw new UsageError(`--format must be dump or ofctl, got ${JSON.stringify(format)}`);
  const { emu, cluster } = emulationFor(clusterSource(a.str('cluster')), a.str('scenario'), intOption('seed', a.str('seed'), 0, 0xffffffff) ?? 1);
  const node = checkNode(cluster, a.str('node'));
  const br = emu.node(node).bridge;
  if (format === 'ofctl') {
    const { flows, groups } = br.exportOfctl();
    process.stdout.write(flows + (groups ? `\n# groups\n${groups}` : '') + (flows.endsWith('\n') ? '' : '\n'));
  } else {
    process.stdout.write(br.dumpFlows(table === undefined ? {} : { table }) + '\n');
  }
  return 0;
}
