/**
 * The short readable walk `packetwalk run` prints per scenario: for the first packet of the conversation and
 * its first reply, every capture point it crossed, one line each, with what the frame looked like there.
 */

import pc from 'picocolors';
import { summarize } from '../../codecs/summary.js';
import type { ScenarioResult } from '../scenarios/run-scenario.js';

type Colors = {
  dim: (s: string) => string;
  bold: (s: string) => string;
  green: (s: string) => string;
  red: (s: string) => string;
  cyan: (s: string) => string;
  yellow: (s: string) => string;
};
const plain: Colors = {
  dim: (s) => s,
  bold: (s) => s,
  green: (s) => s,
  red: (s) => s,
  cyan: (s) => s,
  yellow: (s) => s,
};

/** The walk indexes of the packets worth showing: the first TCP/UDP/ICMP packet a flow sent and the first answer to it. */
function interestingPackets(r: ScenarioResult): number[] {
  const picks: number[] = [];
  const first = r.packets.find((p) => !p.label.startsWith('ARP'));
  if (first) picks.push(first.index);
  const reply = r.packets.find(
    (p) => p.index > (first?.index ?? 0) && !p.label.startsWith('ARP') && p.origin !== first?.origin,
  );
  if (reply) picks.push(reply.index);
  return picks;
}

const MAC_PAIR = /(?:[0-9a-f]{2}:){5}[0-9a-f]{2} > (?:[0-9a-f]{2}:){5}[0-9a-f]{2}, (?:IPv4, )?/g;

/** tcpdump's line without link-layer addresses (as `tcpdump` without -e prints it): one readable line per hop. */
function compact(line: string): string {
  return line.replace(MAC_PAIR, '');
}

export function formatWalkSummary(r: ScenarioResult, color: boolean): string {
  const c: Colors = color ? pc : plain;
  const lines: string[] = [];
  const status = r.passed ? c.green('ok') : c.red('UNEXPECTED');
  lines.push(`${c.bold(r.scenario.name)}  ${c.dim(r.scenario.figure)}  ${status}`);
  const blocked = r.scenario.expect === 'blocked';
  for (const f of r.flows) {
    if (blocked && !f.ok) lines.push(`  ${c.green('⊘')} blocked, as the policy intends (${f.detail})`);
    else lines.push(`  ${f.ok ? c.green('✓') : c.red('✗')} ${f.detail}`);
  }
  const frames = r.recorder.frames;
  const picks = interestingPackets(r);
  let width = 0;
  for (const f of frames)
    if (picks.includes(f.walkIndex)) width = Math.max(width, r.recorder.points[f.point]!.name.length);
  for (const idx of picks) {
    const p = r.packets[idx]!;
    lines.push(`  ${c.cyan(p.label)} ${c.dim(`(from ${p.origin})`)}`);
    let hop = 0;
    for (const f of frames) {
      if (f.walkIndex !== idx || !f.bytes) continue;
      const point = r.recorder.points[f.point]!;
      const arrow = f.direction === 'outbound' ? '→' : '←';
      lines.push(
        `    ${String(++hop).padStart(2)} ${arrow} ${point.name.padEnd(width)} ${compact(summarize(f.bytes))}`,
      );
    }
    if (p.outcome)
      lines.push(
        `       ${p.outcome.kind === 'dropped' ? c.red(`dropped at ${p.outcome.host}: ${p.outcome.reason}`) : c.dim(`${p.outcome.kind} at ${p.outcome.host}`)}`,
      );
  }
  const nFrames = r.recorder.counts.reduce((a, b) => a + b, 0);
  if (r.count > 1) {
    lines.push(...bulkLines(r, c));
    if (r.dir)
      lines.push(
        c.dim(
          `  ${nFrames} frames, ${formatBytes(r.recorder.bytesWritten)} written -> ${r.dir}/walk.pcapng (+ ${r.files.length - 1} more files; the first conversation traced in trace.txt)`,
        ),
      );
  } else if (r.dir)
    lines.push(
      c.dim(
        `  ${r.packets.length} packets, ${nFrames} frames captured -> ${r.dir}/walk.pcapng (+ ${r.files.length - 1} more files)`,
      ),
    );
  return lines.join('\n') + '\n';
}

/** A bulk run's counts: conversations by outcome, drops by reason, port waits, time and rate. */
function bulkLines(r: ScenarioResult, c: Colors): string[] {
  const t = r.tally,
    o = t.outcomes;
  const out = [
    `  ${t.total} conversations (${r.count} per flow; the lines above are the first): ${c.green(`${o.completed} completed`)}, ${o.refused} refused, ${o.unanswered} unanswered, ${o['no-port']} failed to connect (EADDRNOTAVAIL)`,
  ];
  for (const [kind, detail] of t.examples) out.push(c.dim(`    e.g. ${kind}: ${detail}`));
  if (t.portWaits)
    out.push(
      `  the client waited ${t.portWaits} times for a free port (all in TIME_WAIT): ${(t.portWaitNs / 1e9).toFixed(1)} s of virtual time`,
    );
  const drops = [...r.emulation.runtime.drops].sort((a, b) => b[1] - a[1]);
  const dropped = drops.reduce((n, d) => n + d[1], 0);
  out.push(`  packets dropped: ${dropped === 0 ? 'none' : dropped}`);
  for (const [reason, n] of drops.slice(0, 8)) out.push(`    ${String(n).padStart(9)}  ${reason}`);
  if (drops.length > 8) out.push(c.dim(`    ... and ${drops.length - 8} more reasons (trace.json lists them all)`));
  const secs = r.elapsedMs / 1000;
  out.push(
    `  ${secs.toFixed(1)} s, ${Math.round(t.total / Math.max(secs, 1e-3))} conversations/s; virtual clock at ${(r.emulation.runtime.clock.now / 1e9).toFixed(1)} s`,
  );
  return out;
}

function formatBytes(n: number): string {
  return n >= 1e9
    ? `${(n / 1e9).toFixed(2)} GB`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)} MB`
      : `${(n / 1e3).toFixed(1)} kB`;
}

export function printWalkSummary(r: ScenarioResult, color: boolean): void {
  process.stdout.write(formatWalkSummary(r, color) + '\n');
}
