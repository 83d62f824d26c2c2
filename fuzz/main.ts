/**
 * `npm run fuzz -- [--frames N] [--seed S]`: N fuzzed frames (default 100000) through the codecs and through walks
 * of the built-in cluster (fuzz/walk-harness.ts), printing how the frames ended and any invariant that broke.
 * Exit 1 when something broke (the first few cases are printed with their frame as hex and the injection point).
 */

import fc from 'fast-check';
import { Dissection, dissect } from '../codecs/dissect.js';
import { summarize } from '../codecs/summary.js';
import { fuzzFrame } from './frames.js';
import { WalkFuzzer } from './walk-harness.js';

function option(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

function main(): number {
  const args = process.argv.slice(2);
  const frames = Number(option(args, '--frames') ?? 100_000);
  const seed = Number(option(args, '--seed') ?? 1);
  if (!Number.isInteger(frames) || frames < 1 || !Number.isInteger(seed)) {
    console.error('usage: npm run fuzz -- [--frames N] [--seed S]');
    return 2;
  }
  const w = new WalkFuzzer(seed);
  const arb = fc.tuple(fuzzFrame(w.vocabulary), fc.nat(), fc.boolean());
  const fates = new Map<string, number>();
  const problems = new Map<string, number>();
  const examples: string[] = [];
  const d = new Dissection();
  let made = 0,
    done = 0;
  const started = performance.now();
  const batch = 10_000;
  for (let b = 0; done < frames; b++) {
    for (const [frame, at, traced] of fc.sample(arb, {
      numRuns: Math.min(batch, frames - done),
      seed: seed * 100_003 + b,
    })) {
      const found: string[] = [];
      try {
        dissect(frame, 0, frame.length, d, { verifyChecksums: true });
        summarize(frame, 0, frame.length);
      } catch (e) {
        found.push(`codec exception: ${(e as Error).stack}`);
      }
      const r = w.inject(frame, at, traced);
      found.push(...r.problems);
      made += r.made;
      fates.set(r.fate, (fates.get(r.fate) ?? 0) + 1);
      for (const p of found) {
        const key = p.split('\n')[0]!;
        problems.set(key, (problems.get(key) ?? 0) + 1);
        if (examples.length < 5)
          examples.push(
            `${w.points[at % w.points.length]!.name} (traced ${traced}): ${Buffer.from(frame).toString('hex')}\n  ${p}`,
          );
      }
      done++;
    }
    if (process.stderr.isTTY) process.stderr.write(`\r${done}/${frames} frames`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  const secs = (performance.now() - started) / 1000;
  const drops = [...w.emu.runtime.drops].sort((x, y) => y[1] - x[1]);
  console.log(
    `${done} frames (seed ${seed}) at ${w.points.length} injection points in ${secs.toFixed(1)} s (${Math.round(done / secs)}/s)`,
  );
  console.log(
    `injected frames traced: ${[...fates]
      .filter(([k]) => k !== 'untraced')
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}; untraced (fast path on, checked by counters): ${fates.get('untraced') ?? 0}`,
  );
  console.log(`packets made in answer (ARP, ICMP errors, RST, replies, copies): ${made}`);
  console.log(`drops by reason (top 15 of ${drops.length}):`);
  for (const [k, v] of drops.slice(0, 15)) console.log(`  ${String(v).padStart(9)}  ${k}`);
  console.log(`fast path: ${JSON.stringify(w.emu.runtime.fastPath?.stats)}`);
  if (problems.size === 0) {
    console.log(
      'invariants: all held (no exception, no leaked or doubly released buffer, every frame delivered, dropped with a reason or consumed)',
    );
    return 0;
  }
  console.log('PROBLEMS:');
  for (const [k, v] of problems) console.log(`  ${v}x ${k}`);
  for (const e of examples) console.log(e);
  return 1;
}

process.exitCode = main();
