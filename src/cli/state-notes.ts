/** Notes on stderr about what a state directory (--state DIR) held that a walk cannot use. */

/** Print the skipped objects and the unmodelled flows an applied state directory reported. */
export function reportApplied(r: { skipped: string[]; unmodelled: string[] }): void {
  for (const s of r.skipped) process.stderr.write(`packetwalk: note: ${s}\n`);
  if (r.unmodelled.length)
    process.stderr.write(
      `packetwalk: note: ${r.unmodelled.length} flow(s) use an action or match packetwalk does not model; a walk reaching one stops there ("not modelled"): ${r.unmodelled.slice(0, 3).join('; ')}${r.unmodelled.length > 3 ? '; ...' : ''}\n`,
    );
}
