/**
 * Cross-check with the real iptables: load our iptables-save text with `iptables-restore` (nft and legacy
 * backends) in a throwaway network namespace, and compare what `iptables-save` prints back with our text, table by
 * table. Skips (with a note) when not root or when iptables / ip are missing; CI installs them.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { iptablesSave } from '../../src/netfilter/iptables-save.js';
import { buildNodeRules } from '../../src/netfilter/node-rules.js';
import { smallCluster } from './cluster-fixture.js';

const SBIN = ['/usr/sbin', '/sbin', '/usr/bin'];
function which(name: string): string | undefined {
  return SBIN.map((d) => `${d}/${name}`).find((p) => existsSync(p));
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const ip = which('ip');
const backends = (['nft', 'legacy'] as const).filter(
  (b) => which(`iptables-${b}-restore`) && which(`iptables-${b}-save`),
);
const canRun = isRoot && ip !== undefined && backends.length > 0;
if (!canRun)
  console.log(
    `iptables oracle skipped: ${!isRoot ? 'not root' : !ip ? 'no ip(8)' : 'no iptables-restore (apt-get install iptables)'}`,
  );

const created: string[] = [];
afterAll(() => {
  for (const ns of created) spawnSync(ip!, ['netns', 'del', ns]);
});

/** table name -> lines (no comments, counters zeroed by a fresh load anyway). */
function byTable(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let cur = '';
  let lines: string[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith('#') || l === '') continue;
    if (l.startsWith('*')) {
      cur = l.slice(1);
      lines = [l];
    } else lines.push(l);
    if (l === 'COMMIT') out.set(cur, lines.join('\n'));
  }
  return out;
}

describe.skipIf(!canRun)('real iptables accepts and reprints our rules', () => {
  const ours = iptablesSave(buildNodeRules(smallCluster(), 'node-a'));
  for (const b of backends) {
    it(`iptables-${b}-restore --test, restore, save: identical tables`, () => {
      const ns = `pw-test-${process.pid}-${b}`;
      execFileSync(ip!, ['netns', 'add', ns]);
      created.push(ns);
      try {
        const run = (cmd: string, input?: string): string =>
          execFileSync(ip!, ['netns', 'exec', ns, ...cmd.split(' ')], {
            input,
            encoding: 'utf8',
            stdio: ['pipe', 'pipe', 'pipe'],
          });
        run(`iptables-${b}-restore --test`, ours);
        run(`iptables-${b}-restore`, ours);
        const theirs = byTable(run(`iptables-${b}-save`));
        for (const [table, text] of byTable(ours)) expect(theirs.get(table), `table ${table}`).toBe(text);
      } finally {
        spawnSync(ip!, ['netns', 'del', ns]);
        created.splice(created.indexOf(ns), 1);
      }
    });
  }
});
