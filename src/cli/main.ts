#!/usr/bin/env node
/**
 * The packetwalk command line. Thin: parses arguments, calls the library, prints. Exit codes: 0 ok, 1 a walk
 * did not end as its scenario expects, 2 bad usage or bad input (one-line error).
 */

import { ConfigError } from '../cluster/errors.js';
import { UsageError } from './args.js';
import { runCommand } from './commands.js';

// `packetwalk ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

runCommand(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    if (e instanceof UsageError || e instanceof ConfigError) {
      process.stderr.write(`packetwalk: ${(e as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`packetwalk: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 70;
  },
);
