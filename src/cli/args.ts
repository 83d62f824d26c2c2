/** Argument parsing helpers shared by the commands. */

import { parseArgs } from 'node:util';

/** Bad usage: printed as one line, exit code 2. */
export class UsageError extends Error {}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export interface Parsed {
  positionals: string[];
  /** A string option's value (undefined when absent). */
  str(name: string): string | undefined;
  /** A boolean option (false when absent). */
  flag(name: string): boolean;
}

/**
 * Strict parse: an unknown option, a missing or empty value is a UsageError. `--help`/`-h` is always accepted.
 * Node's parseArgs calls `--count -1` and `--from --to X` "ambiguous"; the words are checked first so the message
 * says what is wrong: a value that looks like a negative number goes to its option (whose range check reports it),
 * an option where a value belongs is a missing value.
 */
export function parse(args: string[], options: OptionSpec): Parsed {
  const words = [...args];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') break;
    const m = /^--([^=]+)(=(.*))?$/s.exec(w);
    if (!m || options[m[1]!]?.type !== 'string') continue;
    const name = m[1]!;
    if (m[2] !== undefined) {
      if (m[3] === '') throw new UsageError(`--${name} needs a value (got an empty string)`);
      continue;
    }
    const next = words[i + 1];
    if (next === undefined) throw new UsageError(`--${name} needs a value`);
    if (next === '') throw new UsageError(`--${name} needs a value (got an empty string)`);
    if (next.startsWith('-') && next !== '-') {
      if (!/^-\d/.test(next)) throw new UsageError(`--${name} needs a value (found the option ${next} instead)`);
      words.splice(i, 2, `--${name}=${next}`);
    }
  }
  try {
    const { values, positionals } = parseArgs({
      args: words,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    const v = values as Record<string, string | boolean | undefined>;
    return {
      positionals,
      str: (name) => (typeof v[name] === 'string' ? (v[name] as string) : undefined),
      flag: (name) => v[name] === true,
    };
  } catch (e) {
    // Node's messages add advice on a second sentence ("To specify a positional argument..."): keep the first.
    throw new UsageError((e as Error).message.split('\n')[0]!.split('. ')[0]!.replace(/\.$/, ''));
  }
}

export function intOption(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || +v < min || +v > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return +v;
}
