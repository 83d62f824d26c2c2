/** The Fault a DecodeError carries; fails the test if anything else (or nothing) is thrown. */

import { DecodeError, type Fault } from '../../codecs/errors.js';

export function faultOf(fn: () => unknown): Fault {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecodeError) return e.fault;
    throw new Error(`expected DecodeError, got ${String(e)}`);
  }
  throw new Error('expected DecodeError, nothing thrown');
}
