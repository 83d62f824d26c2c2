import { builtinClusterDocuments } from './src/cluster/builtin.js';
import { SCENARIOS } from './src/scenarios/catalog.js';
import { runScenario } from './src/walk/run-scenario.js';
import { br0Entries } from './test/reference/br0-entries.js';
for (const s of SCENARIOS) {
  const r = runScenario(s, { baseDocuments: builtinClusterDocuments(), clusterFile: '<builtin>' });
  const es = br0Entries(r);
  console.log(s.name, es.length);
  for (const e of es) console.log(' ', e.label, e.inPort, JSON.stringify(e.tunnel), e.ctNext.join(' / '), e.passes.map(p=>p.datapathActions).join(' | '));
}
