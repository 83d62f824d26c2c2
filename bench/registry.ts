/**
 * The benchmark registry: every suite file exports a list of BenchCase and main.ts collects them. A case
 * processes `iterations` packets per `run` call, so the harness can batch the inner loop (one timed call is
 * about a millisecond of work) and report packets per second rather than calls per second.
 */

/** One benchmark: a per-packet operation run in a batch. */
export interface BenchCase {
  /** Stable name, e.g. `encap-64`; the JSON output and the lead's plots key on it. */
  name: string;
  /**
   * Bytes the operation handles per packet (the frame it encapsulates, parses or builds; the record it writes),
   * for Gbit/s. Leave undefined where bytes per second says nothing.
   */
  bytesPerOp?: number;
  /** Prepare pools, files and templates; throws when the codec under test produces wrong bytes. */
  setup?(): void;
  /** Process `iterations` packets. The return value is folded into a sink so the work cannot be optimized away. */
  run(iterations: number): number | undefined;
  /** Release files and buffers. Always called after setup, also when setup or the run failed. */
  teardown?(): void;
  /** Key of the matching measurement of bench/scapy_ref.py (undefined: scapy has no equivalent). */
  scapy?: string;
  /** Setup takes seconds (a big cluster, a million conntrack entries): `--quick` skips the case. */
  heavy?: boolean;
  /** Where the case sits in the growth sweep (`--plot` draws ns/packet against size per axis). */
  scale?: { axis: string; size: number };
}

/** How the run was asked for (set by main.ts before any case runs). */
export const RUN_MODE = { quick: false };

/** A named group of cases (one file, one question). */
export interface BenchSuite {
  name: string;
  cases: readonly BenchCase[];
}

/** Cases whose name contains `filter` (all when it is undefined or empty). */
export function selectCases(suites: readonly BenchSuite[], filter?: string): BenchCase[] {
  const out: BenchCase[] = [];
  const seen = new Set<string>();
  for (const s of suites) {
    for (const c of s.cases) {
      if (seen.has(c.name)) throw new Error(`benchmark name ${c.name} is defined twice (suite ${s.name})`);
      seen.add(c.name);
      if (!filter || c.name.includes(filter)) out.push(c);
    }
  }
  return out;
}
