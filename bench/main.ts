/**
 * `npm run bench`: run the benchmark suites and print packets/s, Gbit/s, heap bytes allocated per packet and
 * the ratio to scapy measured in the same run.
 *
 *   node --import tsx bench/main.ts [--quick] [--filter SUBSTRING] [--json FILE] [--plot DIR]
 *
 *   --quick          run each case briefly and skip the heavy ones (big clusters of the growth sweep): a smoke
 *                    test, the numbers are rough and nothing is asserted
 *   --filter S       run only the cases whose name contains S
 *   --json FILE      also write [{ name, packetsPerSecond, gbps, bytesPerPacket, scapyRatio, rme }] to FILE
 *   --plot DIR       also write DIR/scale.svg: ns/packet against cluster size for the scale-* cases measured
 *
 * Allocation counting needs `global.gc`; without --expose-gc the script re-runs itself with it.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { consumedSink, measureCase, type MeasureOptions } from './measure.js';
import { captureDir } from './pcap.bench.js';
import { scaleChartSvg, type PlotPoint } from './plot.js';
import { RUN_MODE, selectCases } from './registry.js';
import { machineLine, tableHeader, tableRow, type BenchResult } from './report.js';
import { runScapy, scapyAvailable, type ScapyRun } from './scapy.js';
import { SUITES } from './suites.js';

const USAGE = 'usage: node --import tsx bench/main.ts [--quick] [--filter SUBSTRING] [--json FILE] [--plot DIR]';

interface Args {
  quick: boolean;
  filter?: string;
  json?: string;
  plot?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { quick: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') a.quick = true;
    else if (arg === '--filter') a.filter = value();
    else if (arg === '--json') a.json = value();
    else if (arg === '--plot') a.plot = value();
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument ${arg}`);
  }
  return a;
}

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

const FULL: MeasureOptions = { timeMs: 1000, warmupMs: 200, minCalls: 64, callMs: 1, allocWindowMs: 200 };
const QUICK: MeasureOptions = { timeMs: 20, warmupMs: 10, minCalls: 5, callMs: 1, allocWindowMs: 10 };

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  if (typeof globalThis.gc !== 'function') {
    // Re-run with --expose-gc (same loader flags, same arguments) rather than guess at allocation.
    const r = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', ...process.argv.slice(1)], {
      stdio: 'inherit',
    });
    if (r.error) throw r.error;
    return r.status ?? 1;
  }
  const opts = args.quick ? QUICK : FULL;
  RUN_MODE.quick = args.quick;
  const selected = selectCases(SUITES, args.filter);
  if (selected.length === 0) fail(`no benchmark name contains ${JSON.stringify(args.filter)}`);
  const cases = args.quick ? selected.filter((c) => !c.heavy) : selected;
  const skipped = selected.filter((c) => !cases.includes(c)).map((c) => c.name);

  console.log(`# ${machineLine()}`);
  console.log(
    `# ${args.quick ? 'quick run: rough numbers, for smoke testing only' : `${opts.timeMs} ms per case after ${opts.warmupMs} ms warm-up`}; packets/s is the median of batched calls (~${opts.callMs} ms each)`,
  );

  let scapy: ScapyRun | undefined;
  const keys = [...new Set(cases.flatMap((c) => (c.scapy ? [c.scapy] : [])))];
  if (keys.length > 0) {
    if (!scapyAvailable()) {
      console.log('# scapy not installed (Debian: apt-get install python3-scapy); vs scapy left empty');
    } else {
      const seconds = args.quick ? 0.05 : 1;
      try {
        scapy = runScapy(keys, seconds, captureDir().dir);
        console.log(
          `# scapy ${scapy.scapyVersion} (Python ${scapy.pythonVersion}) measured in this run, ${seconds} s per operation`,
        );
      } catch (e) {
        console.log(`# scapy failed, vs scapy left empty: ${(e as Error).message}`);
      }
    }
  }

  if (skipped.length > 0) console.log(`# skipped in --quick (setup takes seconds): ${skipped.join(', ')}`);
  console.log(tableHeader());
  const results: BenchResult[] = [];
  const plotPoints: PlotPoint[] = [];
  const failures: string[] = [];
  for (const c of cases) {
    try {
      c.setup?.();
      const m = measureCase(c, opts);
      const scapyPps = c.scapy ? scapy?.pps[c.scapy] : undefined;
      const r: BenchResult = {
        name: c.name,
        packetsPerSecond: m.packetsPerSecond,
        gbps: c.bytesPerOp === undefined ? null : (m.packetsPerSecond * c.bytesPerOp * 8) / 1e9,
        bytesPerPacket: m.bytesPerPacket,
        scapyRatio: scapyPps ? m.packetsPerSecond / scapyPps : null,
        rme: m.rme,
      };
      results.push(r);
      if (c.scale) plotPoints.push({ axis: c.scale.axis, size: c.scale.size, nsPerPacket: 1e9 / m.packetsPerSecond });
      console.log(tableRow(r));
    } catch (e) {
      failures.push(c.name);
      console.log(`${c.name.padEnd(34)} | FAILED: ${(e as Error).stack ?? e}`);
    } finally {
      try {
        c.teardown?.(); // also after a failed setup: it may have opened a file
      } catch (e) {
        console.log(`${c.name}: teardown failed: ${(e as Error).message}`);
      }
    }
  }

  if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
  if (args.plot) {
    if (plotPoints.length === 0) {
      console.log('# --plot: no scale-* case was measured, no chart written');
    } else {
      mkdirSync(args.plot, { recursive: true });
      const file = join(args.plot, 'scale.svg');
      writeFileSync(
        file,
        scaleChartSvg(plotPoints, `${machineLine().replace(/^machine: /, '')}${args.quick ? ' (quick run)' : ''}`),
      );
      console.log(`# --plot: wrote ${file}`);
    }
  }
  console.log(`# sink ${consumedSink() % 1000}`);
  if (failures.length > 0) {
    console.error(`bench: ${failures.length} case(s) failed: ${failures.join(', ')}`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
