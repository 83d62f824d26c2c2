/** Argument parsing: values that start with '-', missing values and empty values give the real reason. */

import { describe, expect, it } from 'vitest';
import { intOption, parse, UsageError } from '../../src/cli/args.js';

const OPTS = {
  from: { type: 'string' },
  to: { type: 'string' },
  count: { type: 'string' },
  json: { type: 'boolean' },
} as const;

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parse', () => {
  it('passes a negative number to the option, so its range check can say what is allowed', () => {
    const a = parse(['--count', '-1'], OPTS);
    expect(a.str('count')).toBe('-1');
    expect(usage(() => intOption('count', a.str('count'), 1, 10))).toBe(
      '--count must be an integer from 1 to 10, got "-1"',
    );
  });

  it('names the option that lacks its value when the next word is another option', () => {
    expect(usage(() => parse(['--from', '--to', 'X'], OPTS))).toBe(
      '--from needs a value (found the option --to instead)',
    );
    expect(usage(() => parse(['--to', 'x', '--from'], OPTS))).toBe('--from needs a value');
  });

  it('refuses an empty value', () => {
    expect(usage(() => parse(['--to', ''], OPTS))).toBe('--to needs a value (got an empty string)');
    expect(usage(() => parse(['--to='], OPTS))).toBe('--to needs a value (got an empty string)');
  });

  it('keeps what worked before: --opt=value, booleans, positionals after --', () => {
    const a = parse(['--from=a', '--json', '--to', 'b', '--', '--count'], OPTS);
    expect([a.str('from'), a.str('to'), a.flag('json'), a.positionals]).toEqual(['a', 'b', true, ['--count']]);
    expect(usage(() => parse(['--bogus'], OPTS))).toMatch(/^Unknown option '--bogus'/);
  });
});
