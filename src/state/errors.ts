/**
 * A state file that cannot be understood: a ConfigError (exit 2 at the command line) naming the file under the
 * state directory and the line, e.g. `nodes/worker1/dump-flows.txt:12:40: ...`.
 */

import { ConfigError } from '../cluster/errors.js';

export class StateFileError extends ConfigError {
  constructor(file: string, detail: string, line?: number, column?: number) {
    super(file, '', '', detail, line, column);
  }
}
