/**
 * `npm run bench:bulk`: a bulk run as `packetwalk run SCENARIO --count N --out DIR` makes it (files written, the
 * fast path on), measured: conversations per second of CPU time in each tenth of the run (so a cost per
 * conversation that grows with N shows as falling rates), the whole run's rate, and peak RSS.
 *
 *   node --import tsx bench/bulk.ts [--count N] [--scenario NAME] [--out DIR] [--keep]
 *
 *   --count N       conversations (default 1000000)
 *   --scenario S    default pod-to-service-cross-node
 *   --out DIR       where the capture files go (default: a fresh folder under the OS temp dir, deleted after;
 *                   a million conversations of the default scenario write about 20 GB)
 *   --keep          keep the files
 *
 * CPU time (process.cpuUsage, user + system) rather than wall time: the machines this runs on are shared.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinClusterDocuments } from '../src/cluster/builtin.js';
import { findScenario } from '../src/scenarios/catalog.js';
import { runScenario } from '../src/scenarios/run-scenario.js';

const USAGE = 'usage: node --import tsx bench/bulk.ts [--count N] [--scenario NAME] [--out DIR] [--keep]';

function option(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function main(): void {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const count = Number(option(args, '--count') ?? 1_000_000);
  const name = option(args, '--scenario') ?? 'pod-to-service-cross-node';
  const s = findScenario(name);
  if (!s || !Number.isInteger(count) || count < 10) {
    console.error(`bench:bulk: bad --scenario or --count\n${USAGE}`);
    process.exit(2);
  }
  const out = option(args, '--out') ?? mkdtempSync(join(tmpdir(), 'packetwalk-bulk-'));
  const keep = args.includes('--keep') || option(args, '--out') !== undefined;
  let peakRss = process.memoryUsage().rss;
  const windows: { upTo: number; rate: number; rssMb: number }[] = [];
  const step = Math.max(1, Math.floor(count / 10));
  let lastDone = 0;
  let lastCpu = cpuMs();
  const startCpu = lastCpu,
    startWall = performance.now();
  const r = runScenario(s, {
    baseDocuments: builtinClusterDocuments(),
    clusterFile: '<builtin>',
    outDir: out,
    count,
    onProgress: (done) => {
      if (done % 1000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (done % step !== 0 && done !== count) return;
      const now = cpuMs();
      windows.push({
        upTo: done,
        rate: ((done - lastDone) / (now - lastCpu)) * 1000,
        rssMb: process.memoryUsage().rss / 2 ** 20,
      });
      lastDone = done;
      lastCpu = now;
    },
  });
  const cpu = cpuMs() - startCpu,
    wall = performance.now() - startWall;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const t = r.tally;
  console.log(`${name}, ${count} conversations: ${JSON.stringify(t.outcomes)}, ${t.portWaits} waits for a free port`);
  console.log(
    `frames ${r.recorder.counts.reduce((a, b) => a + b, 0)}, ${(r.recorder.bytesWritten / 1e9).toFixed(2)} GB written to ${out}`,
  );
  console.log('conversations/s of CPU time per tenth of the run (flat = cost per conversation does not grow):');
  for (const w of windows)
    console.log(
      `  up to ${String(w.upTo).padStart(8)}: ${w.rate.toFixed(0).padStart(6)}/s   rss ${w.rssMb.toFixed(0)} MB`,
    );
  console.log(
    `whole run: ${((count / cpu) * 1000).toFixed(0)} conversations/s of CPU time (${(cpu / 1000).toFixed(1)} s CPU, ${(wall / 1000).toFixed(1)} s wall), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB`,
  );
  if (!keep) rmSync(out, { recursive: true, force: true });
}

main();
