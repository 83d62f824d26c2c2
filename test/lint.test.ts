/**
 * The tree is formatted and lint-clean as biome.json says (Biome's recommended rules, 120 columns): `npm run lint`
 * inside `npm test`, so CI fails on a finding and prints it. `npm run format` fixes what can be fixed by machine.
 */

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('lint and format', () => {
  it('biome ci finds no lint finding and no unformatted file', () => {
    const bin = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));
    const r = spawnSync(bin, ['ci', '--colors=off', '--max-diagnostics=50', '.'], { cwd: root, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  });
});
