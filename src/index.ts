/**
 * packetwalk as a library: build a cluster, bring it up, run walks or inject frames, and read the captures.
 * The command line (src/cli) is a thin layer over these.
 */

export { builtinCluster, builtinClusterDocuments } from './cluster/builtin.js';
export { buildCluster } from './cluster/build.js';
export { loadClusterFile, parseClusterDocuments } from './cluster/load.js';
export { patchDocuments, withDocuments, withoutDocuments } from './cluster/edit.js';
export { ConfigError } from './cluster/errors.js';
export type * from './cluster/types.js';
export { Emulation, type EmulationOptions } from './node/emulation.js';
export { createFastPath, type FastPath, type FastPathStats } from './fastpath/fast-path.js';
export type { WalkPacket } from './runtime/runtime.js';
export { CaptureRecorder } from './capture/recorder.js';
export { attachCapture } from './capture/attach.js';
export { runFlow, resolveTarget, type FlowSpec, type FlowResult, type Source } from './walk/flow.js';
export { runScenario, scenarioCluster, type ScenarioResult } from './scenarios/run-scenario.js';
export { SCENARIOS, findScenario } from './scenarios/catalog.js';
export type { Scenario } from './scenarios/scenario.js';
export { renderWalkTrace, packetsToJson } from './trace/render.js';
export { PacketBuffer, BufferPool } from './buffer/packet-buffer.js';
export { Bridge } from './ovs/bridge.js';
export { iptablesSave } from './netfilter/iptables-save.js';
