/** The doctor's report as text (for people) or JSON (for scripts). */

import type { DoctorReport } from './doctor.js';

/** True when something differs or a walk fails. */
export function hasProblems(r: DoctorReport): boolean {
  return r.nodes.some((n) => n.differences.length > 0) || r.walks.failed.length > 0;
}

export function renderDoctorText(r: DoctorReport): string {
  const out: string[] = [];
  out.push(`state ${r.dir}: ${r.found}`);
  for (const n of r.notes) out.push(`  note: ${n}`);
  out.push('');
  for (const n of r.nodes) {
    const head = `${n.node} (${n.files.join(', ') || 'no files'}): ${n.differences.length === 0 ? 'as OpenShift SDN would program it' : `${n.differences.length} difference(s)`}`;
    out.push(head);
    for (const d of n.differences) {
      out.push(`  - ${d.message}`);
      if (d.actual) out.push(`      actual:   ${d.actual}`);
      if (d.expected) out.push(`      expected: ${d.expected}`);
    }
    for (const v of n.variation) out.push(`  (not a problem: ${v})`);
  }
  if (r.unmodelled.length) {
    out.push(
      '',
      `${r.unmodelled.length} flow(s) use actions or matches packetwalk does not model (a walk reaching one stops with "not modelled"):`,
    );
    for (const u of r.unmodelled.slice(0, 20)) out.push(`  ${u}`);
  }
  const w = r.walks;
  if (w.total) {
    const failedCount = w.failed.reduce((a, f) => a + 1 + (f.alike ?? 0), 0);
    out.push(
      '',
      `walks: ${w.total} (${Object.entries(w.byKind)
        .map(([k, n]) => `${n} ${k}`)
        .join(
          ', ',
        )}): ${w.passed} passed, ${failedCount} failed${w.failedAsExpected ? `, ${w.failedAsExpected} blocked as OpenShift SDN would block them (policy)` : ''}`,
    );
    if (w.walked < w.total)
      out.push(
        `  (${w.walked} walked; the others touch only nodes that match what OpenShift SDN would program, or behave like a walked one through another such node)`,
      );
    for (const f of w.failed) {
      out.push(
        `  FAILED ${f.label}: ${f.detail}${f.node ? `; stopped on ${f.node} at ${f.at}` : ''}${f.alike ? ` (and ${f.alike} like it through other nodes)` : ''}`,
      );
      if (f.explainedBy.length) for (const e of f.explainedBy) out.push(`      because ${e}`);
      else out.push('      no difference found explains it');
    }
  }
  out.push(
    '',
    hasProblems(r) ? 'problems found' : 'no problems found',
    `(compared in ${r.seconds.compare.toFixed(1)} s, walked in ${r.seconds.walks.toFixed(1)} s)`,
  );
  return out.join('\n') + '\n';
}
