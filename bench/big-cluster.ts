/**
 * The big-cluster benchmark (issue 15): generate an OpenShift-sized cluster file (bench/big-cluster-file.ts) into a
 * temporary folder, then run the real CLI on it in child processes, timing each command and reading its peak RSS:
 *
 *   cluster clusternetwork  load and validate the file (YAML, objects, cross-object rules, derived endpoints)
 *   cluster netnamespaces   the same plus a table of every namespace
 *   trace                   load, then a pod -> service walk across two nodes, every packet traced
 *   run pod-to-pod-cross-node   the built-in scenario on the big cluster, all files written
 *
 *   node --import tsx bench/big-cluster.ts [--nodes 2000] [--pods 150000] [--keep DIR]
 *
 * Needs `npm run build` first (it runs dist/src/cli/main.js). Not a test: it takes minutes and its numbers depend
 * on the machine; the README quotes a run. CPU time (user + system, the GC's helper threads included) is reported
 * beside wall time: on a shared machine it varies far less.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bigNamespace, bigPodName, writeBigClusterFile, type BigClusterShape } from './big-cluster-file.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const PRELOAD = join(ROOT, 'bench', 'peak-rss.mjs');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const shape: BigClusterShape = { nodes: option('nodes', 2000), pods: option('pods', 150_000) };
const keep = process.argv.includes('--keep') ? process.argv[process.argv.indexOf('--keep') + 1] : undefined;
const dir = keep ?? mkdtempSync(join(tmpdir(), 'packetwalk-big-'));

try {
  const file = join(dir, 'big-cluster.yaml');
  let t = performance.now();
  writeBigClusterFile(file, shape);
  console.log(
    `${shape.nodes} nodes, ${shape.pods} pods: ${file}, ${(statSync(file).size / 1e6).toFixed(1)} MB, written in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const client = `${bigNamespace(0)}/${bigPodName(0)}`;
  const commands: [string, string[]][] = [
    ['cluster clusternetwork', ['cluster', 'clusternetwork', '--cluster', file]],
    ['cluster netnamespaces', ['cluster', 'netnamespaces', '--cluster', file]],
    [
      `trace ${client} -> svc/${bigNamespace(150)}/app-1`,
      ['trace', '--cluster', file, '--from', client, '--to', `svc/${bigNamespace(150)}/app-1`],
    ],
    ['run pod-to-pod-cross-node', ['run', 'pod-to-pod-cross-node', '--cluster', file, '--out', join(dir, 'out')]],
  ];
  console.log('command'.padEnd(60) + 'exit  wall s  CPU s  peak RSS MB  output');
  for (const [label, args] of commands) {
    const rssFile = join(dir, 'rss');
    t = performance.now();
    const r = spawnSync(process.execPath, ['--import', PRELOAD, CLI, ...args], {
      env: { ...process.env, PACKETWALK_PEAK_RSS_FILE: rssFile, NO_COLOR: '1' },
      maxBuffer: 1 << 30,
      encoding: 'utf8',
    });
    const wall = (performance.now() - t) / 1000;
    let rss = NaN,
      cpu = NaN;
    try {
      const [bytes, us] = readFileSync(rssFile, 'utf8').split('\n');
      rss = Number(bytes) / 1e6;
      cpu = Number(us) / 1e6;
    } catch {
      // the child died before exit handlers ran
    }
    const out = (r.stdout ?? '').split('\n');
    const note =
      r.status === 0 || r.status === 1
        ? `${out.length} lines; ${(out[0] ?? '').slice(0, 90)}`
        : ((r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? '');
    console.log(
      `${label.padEnd(60)}${String(r.status).padEnd(6)}${wall.toFixed(1).padStart(6)}  ${cpu.toFixed(1).padStart(5)}  ${rss.toFixed(0).padStart(11)}  ${note}`,
    );
  }
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
