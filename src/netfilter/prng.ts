/**
 * The netfilter instance's own seeded random source: drives `-m statistic --mode random` (kube-proxy's endpoint
 * choice) and NAT port offsets, where the kernel calls get_random_u32(). A Weyl sequence through the murmur3
 * finaliser: same seed, same draws, so walks are reproducible.
 */

import type { RandomSource } from './nat.js';

export class Prng implements RandomSource {
  private state: number;

  constructor(seed = 0) {
    this.state = seed >>> 0;
  }

  nextU32(): number {
    let z = (this.state = (this.state + 0x9e3779b9) >>> 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}
