import { readFileSync } from 'node:fs';
import { readClusterObjects } from '/work/wt-bigcluster/src/cluster/load.ts';
import { buildFromSources } from '/work/wt-bigcluster/src/cluster/build.ts';
import { Emulation } from '/work/wt-bigcluster/src/node/emulation.ts';
const file = process.argv[2]!;
const mb = () => `${(process.memoryUsage().rss / 1e6).toFixed(0)} MB rss, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`;
let t = performance.now();
const lap = (what: string) => { const n = performance.now(); console.log(`${what}: ${((n - t) / 1000).toFixed(2)} s, ${mb()}`); t = n; };
const text = readFileSync(file, 'utf8'); lap('read');
const objs = readClusterObjects(text, file); lap('yaml parse');
const cluster = buildFromSources(objs, file); lap('build cluster');
if (process.argv[3] === 'emu') { const emu = new Emulation(cluster, {}); lap('emulation'); }
if (process.argv[3] === 'trace') {
  const { attachCapture } = await import('/work/wt-bigcluster/src/capture/attach.ts');
  const { CaptureRecorder } = await import('/work/wt-bigcluster/src/capture/recorder.ts');
  const { runFlow } = await import('/work/wt-bigcluster/src/walk/flow.ts');
  const emu = new Emulation(cluster, {}); lap('emulation');
  const rec = new CaptureRecorder(emu.runtime.clock, { index: true });
  attachCapture(emu, rec); lap('attach');
  emu.runtime.recording = true;
  const from = cluster.pods.find((p) => p.namespace === 'ns-0000')!;
  const svc = cluster.services.find((s) => s.namespace === 'ns-0001' && s.name === 'app-1')!;
  const r = runFlow(emu, { from: { kind: 'pod', namespace: from.namespace, name: from.name }, to: { ip: svc.clusterIP, port: 8080 }, proto: 'tcp' });
  lap(`walk ${r.ok} ${r.detail}; built ${emu.builtNodeCount}; packets ${emu.runtime.packets.length}`);
}
