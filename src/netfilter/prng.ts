/**
 * The netfilter instance's own seeded random source: drives `-m statistic --mode random` (kube-proxy's endpoint
 * choice) and NAT port offsets, where the kernel calls get_random_u32(). It is the run's generator
 * (src/node/rng.ts), so one PRNG serves the whole emulator: same seed, same draws, reproducible walks.
 */

import { SeededRandom } from '../runtime/rng.js';

export class Prng extends SeededRandom {
  constructor(seed = 0) {
    super(seed);
  }
}
