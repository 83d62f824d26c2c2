/** Every benchmark suite, in the order the table prints them. */

import { codecSuite } from './codec.bench.js';
import { pcapSuite } from './pcap.bench.js';
import type { BenchSuite } from './registry.js';
import { scaleSuite } from './scale.bench.js';
import { shardSuite } from './shard.bench.js';
import { walkSuite } from './walk.bench.js';

export const SUITES: readonly BenchSuite[] = [codecSuite, pcapSuite, walkSuite, scaleSuite, shardSuite];
