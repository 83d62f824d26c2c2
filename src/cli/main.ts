#!/usr/bin/env node
/**
 * The packetwalk command line. Thin: parses arguments, calls the library, prints. Exit codes: 0 ok; 1 a walk did
 * not end as its scenario expects, or an internal error (a bug: printed with its stack); 2 a user's mistake — bad
 * usage, a bad cluster file, an output location that cannot be written (one line, never a stack trace); 130/143
 * interrupted by SIGINT/SIGTERM.
 */

import { ConfigError } from '../cluster/errors.js';
import { asOutputError, OutputError } from '../output/output-files.js';
import { UsageError } from './args.js';
import { runCommand } from './commands.js';
import { Interrupted } from './interrupted.js';

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
    if (e instanceof Interrupted) {
      process.stderr.write(`packetwalk: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    const user = asOutputError(e);
    if (user instanceof UsageError || user instanceof ConfigError || user instanceof OutputError) {
      process.stderr.write(`packetwalk: ${(user as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`packetwalk: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
