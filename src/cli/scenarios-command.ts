/** `packetwalk scenarios`: every scenario, the seed figure it reproduces and what it shows. */

import { SCENARIOS } from '../scenarios/catalog.js';
import { parse } from './args.js';

/** `packetwalk scenarios [--json]`. */
export function cmdScenarios(args: string[]): number {
  const a = parse(args, { json: { type: 'boolean' } });
  if (a.flag('help')) {
    process.stdout.write(
      'Usage: packetwalk scenarios [--json]\n\nLists every scenario, the seed figure it reproduces and what it shows.\n',
    );
    return 0;
  }
  if (a.flag('json')) {
    process.stdout.write(
      JSON.stringify(
        SCENARIOS.map((s) => ({ name: s.name, figure: s.figure, summary: s.summary })),
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  const w = Math.max(...SCENARIOS.map((s) => s.name.length));
  for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(w)}  ${s.figure}\n${' '.repeat(w)}  ${s.summary}\n`);
  return 0;
}
