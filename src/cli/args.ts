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

/** Strict parse: an unknown option or a missing value is a UsageError. `--help`/`-h` is always accepted. */
export function parse(args: string[], options: OptionSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
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
  if (!/^\d+$/.test(v) || +v < min || +v > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return +v;
}
