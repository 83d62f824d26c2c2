/**
 * Where a benchmark spends its time: runs one case warm under V8's sampling CPU profiler and prints the
 * functions with the most self time (file:line), so a hop's cost can be read off directly.
 *
 *   node --import tsx bench/profile.ts NAME [--seconds S] [--top N] [--save FILE.cpuprofile]
 *
 * The saved profile opens in Chrome DevTools (Performance tab) or speedscope.
 */

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { selectCases } from './registry.js';
import { SUITES } from './suites.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

function post<T>(s: Session, method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) =>
    s.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))),
  );
}

function option(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const name = args[0];
  if (!name || name.startsWith('--')) throw new Error('usage: profile.ts NAME [--seconds S] [--top N] [--save FILE]');
  const seconds = Number(option(args, '--seconds') ?? 3);
  const top = Number(option(args, '--top') ?? 30);
  const c = selectCases(SUITES).find((x) => x.name === name);
  if (!c) throw new Error(`no benchmark named ${name}`);
  c.setup?.();
  try {
    const warmUntil = performance.now() + 500;
    let packets = 0;
    while (performance.now() < warmUntil) {
      c.run(1000);
      packets += 1000;
    }
    const s = new Session();
    s.connect();
    await post(s, 'Profiler.enable');
    await post(s, 'Profiler.setSamplingInterval', { interval: 100 });
    await post(s, 'Profiler.start');
    const until = performance.now() + seconds * 1000;
    packets = 0;
    while (performance.now() < until) {
      c.run(1000);
      packets += 1000;
    }
    const { profile } = await post<{ profile: Profile }>(s, 'Profiler.stop');
    s.disconnect();
    const save = option(args, '--save');
    if (save) writeFileSync(save, JSON.stringify(profile));

    const total = (profile.samples ?? []).length || profile.nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0);
    const self = new Map<string, number>();
    for (const n of profile.nodes) {
      const f = n.callFrame;
      const where = f.url ? `${f.url.replace(/^.*\/main\//, '')}:${f.lineNumber + 1}` : '';
      const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
      self.set(key, (self.get(key) ?? 0) + (n.hitCount ?? 0));
    }
    const nsPerPacket = (seconds * 1e9) / packets;
    console.log(
      `${name}: ${packets} packets in ${seconds} s = ${(packets / seconds / 1e3).toFixed(1)} k/s, ${nsPerPacket.toFixed(0)} ns/packet (under the profiler)`,
    );
    console.log('  self %   ns/packet  function');
    for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      const share = hits / total;
      console.log(`${(share * 100).toFixed(1).padStart(7)}%  ${(share * nsPerPacket).toFixed(0).padStart(9)}  ${key}`);
    }
  } finally {
    c.teardown?.();
  }
}

await main();
