import { SeededRandom } from '../../src/runtime/rng.js';

/** Seeded uniform [0, 1) draws for property tests (the emulator's mulberry32): same seed, same cases. */
export function prng(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}

/** A random integer in [0, n). */
export function randInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** `n` random bytes. */
export function randBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = randInt(rand, 256);
  return b;
}
