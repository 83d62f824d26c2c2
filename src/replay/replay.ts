/**
 * `packetwalk replay`: read a capture record by record and inject each frame at a point of the emulated data
 * path, keeping the capture's relative timing on the virtual clock, then write what `run` writes (walk.pcapng,
 * one pcap per capture point, trace.txt, trace.json, path.svg) plus a summary that accounts for every record.
 *
 * A broken capture stops the reading at the broken byte: what came before it was injected and is written, and
 * the result carries the error (the CLI prints it as one line and exits 2). The output folder is written under a
 * temporary name and renamed into place, so an internal failure leaves nothing half-written.
 */

import { rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CaptureReader, FileSource, type ByteSource, type CaptureRecord } from '../../codecs/capture-reader.js';
import { DecodeError, type Fault } from '../../codecs/errors.js';
import { decodeLinkLayer, linktypeName, newLinkLayerInfo } from '../../codecs/link-layer.js';
import { summarize } from '../../codecs/summary.js';
import { attachCapture } from '../capture/attach.js';
import { CaptureRecorder } from '../capture/recorder.js';
import { buildCluster } from '../cluster/build.js';
import { createFastPath } from '../fastpath/fast-path.js';
import { Emulation } from '../node/emulation.js';
import type { WalkPacket } from '../runtime/runtime.js';
import { renderPathSvg } from '../picture/path-svg.js';
import { packetsToJson, renderWalkTrace } from '../trace/render.js';
import type { WalkResult } from '../walk/walk-result.js';
import type { ScenarioFolderRecord } from '../scenarios/run-scenario.js';
import { emulationFlows } from '../page/from-walk-result.js';
import { walkPageInput } from '../page/from-walk.js';
import { renderWalkPage } from '../page/walk-html.js';
import { groupFlows } from '../picture/index-html.js';
import { asOutputError } from '../output/output-files.js';
import { checkReplaceable, FOLDER_MANIFEST, replaceFolder, type FolderManifest } from '../output/scenario-folders.js';
import { makeTempDir, unmarkTempDir } from '../output/temp-folders.js';
import { buildFrame, classify, clusterMacs } from './frame.js';
import { resolvePoint } from './point.js';
import { formatReplaySummary, newSummary, type ReplaySummary } from './summary.js';

export interface ReplayOptions {
  /** The capture file (also its name in messages). */
  file: string;
  /** Read from here instead of opening `file` (tests). */
  source?: ByteSource;
  /** POINT: NS/POD, NODE/eth0, gateway[/eth0|/eth1], external[/NAME]. */
  at: string;
  baseDocuments: readonly object[];
  clusterFile: string;
  seed?: number;
  /** Output folder (written whole or not at all); omit to replay in memory. */
  outDir?: string;
  /**
   * Injected frames traced hop by hop (trace.txt/json, path.svg); later ones walk untraced, which keeps memory
   * bounded on long captures (their outcomes are still counted and their hops still written to the pcaps).
   */
  traceLimit?: number;
}

/** Default for ReplayOptions.traceLimit. */
export const DEFAULT_TRACE_LIMIT = 1000;
/** Records kept as examples of what was not injected. */
const NOT_INJECTED_EXAMPLES = 20;

/** A broken capture: the file, the byte offset and what is wrong there. */
export interface ReplayError {
  fault: Fault;
  /** One line: `FILE: byte N: ...`. */
  message: string;
}

export interface ReplayResult extends WalkResult {
  summary: ReplaySummary;
  /** Set when reading stopped at a broken byte (everything before it was replayed and written). */
  error?: ReplayError;
}

/** The capture record's link layer -> the injected packet's label (`capture #3: 10.131.0.40.40000 > ...`). */
const MAC_PAIR = /(?:[0-9a-f]{2}:){5}[0-9a-f]{2} > (?:[0-9a-f]{2}:){5}[0-9a-f]{2}, (?:IPv4, )?/;

export function runReplay(opts: ReplayOptions): ReplayResult {
  const cluster = buildCluster(opts.baseDocuments, opts.clusterFile);
  const seed = opts.seed ?? 1;
  // Every node built up front: captured frames are injected straight into ports (a node NIC, a veth), past the
  // underlay where an unbuilt node would build itself.
  const emu = new Emulation(cluster, { seed, fastPath: createFastPath }).buildAll();
  const finalDir = opts.outDir;
  if (finalDir) checkReplaceable(finalDir); // never replace a folder holding files packetwalk did not write
  const tmpDir = finalDir ? makeTempDir(finalDir) : undefined;
  const recorder = new CaptureRecorder(emu.runtime.clock, { dir: tmpDir, index: true, keepBytes: true });
  let source: FileSource | undefined;
  try {
    attachCapture(emu, recorder);
    const point = resolvePoint(emu, opts.at);
    // Every injected frame is traced (the summary reads each one's outcome); traced packets never use the fast path.
    emu.runtime.tracing = true;
    const summary = newSummary(opts.file, point.label);
    const macs = clusterMacs(emu);
    const link = newLinkLayerInfo();
    const origin = `capture at ${point.label}`;
    const clock = emu.runtime.clock;
    const traceLimit = opts.traceLimit ?? DEFAULT_TRACE_LIMIT;
    const t0 = clock.now;
    let first: CaptureRecord | undefined;
    let firstSec = 0,
      firstNsec = 0,
      lastTarget = t0;
    let error: ReplayError | undefined;
    const injected: number[] = [];
    const notes: string[] = [];
    try {
      const src = opts.source ?? (source = new FileSource(opts.file));
      const reader = new CaptureReader(src);
      summary.format = `${reader.format}, ${reader.byteOrder} endian${reader.format === 'pcap' ? `, ${reader.resolution === 'ns' ? 'nanosecond' : 'microsecond'} timestamps, snaplen ${reader.snaplen}` : ''}`;
      for (let rec = reader.next(); rec !== null; rec = reader.next()) {
        summary.read++;
        const lt = linktypeName(rec.linktype);
        summary.linktypes[lt] = (summary.linktypes[lt] ?? 0) + 1;
        // The capture's clock, relative to its first record, on the virtual clock (never backwards).
        if (rec.hasTimestamp) {
          if (!first) {
            first = rec;
            firstSec = rec.tsSec;
            firstNsec = rec.tsNsec;
          }
          lastTarget = t0 + (rec.tsSec - firstSec) * 1e9 + (rec.tsNsec - firstNsec);
        }
        if (lastTarget > clock.now) clock.advance(lastTarget - clock.now);
        const f = decodeLinkLayer(rec.linktype, rec.data, link);
        if (f) {
          unparseable(summary, rec, f);
          continue;
        }
        const dir = classify(point, rec, link);
        if (!dir.inject) {
          if (summary.notInjected.count++ < NOT_INJECTED_EXAMPLES)
            summary.notInjected.examples.push({ record: rec.number, why: dir.why ?? 'received at the point' });
          continue;
        }
        if (summary.traced === traceLimit && emu.runtime.tracing) {
          // Past the trace limit: no more WalkPackets or in-memory frame index; files and counts go on.
          emu.runtime.tracing = false;
          recorder.stopIndexing();
        }
        const traced = emu.runtime.tracing;
        const pkt = emu.runtime.newPacket(origin, `capture #${rec.number}`);
        notes.length = 0;
        const bf = buildFrame(emu, point, rec, link, macs, pkt, notes);
        if (bf) {
          emu.runtime.pool.release(pkt);
          if (traced) emu.runtime.packets.pop(); // the record never became a packet
          unparseable(summary, rec, bf);
          continue;
        }
        summary.injected++;
        // The first capture point's pcapng comment names the record (Wireshark: frame.comment; trace.txt names the file).
        pkt.hopReason = `replay: capture record ${rec.number}`;
        if (traced) {
          const wp = emu.runtime.packets[pkt.walkIndex]!;
          wp.label = `capture #${rec.number}: ${summarize(pkt.data, pkt.start, pkt.end).replace(MAC_PAIR, '')}`;
          wp.trace.add(
            'detail',
            `replay: record ${rec.number} of ${opts.file} (byte ${rec.offset}, ${lt}, ${rec.data.length} bytes) injected at ${point.label}`,
            undefined,
            point.host,
          );
          for (const n of notes) wp.trace.add('detail', n, undefined, point.host);
          summary.traced++;
          injected.push(pkt.walkIndex);
          point.inject(pkt);
        } else {
          emu.runtime.watched = pkt;
          emu.runtime.watchedOutcome = null;
          point.inject(pkt);
          count(summary, emu.runtime.watchedOutcome);
          emu.runtime.watched = null;
        }
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) {
        if ((e as NodeJS.ErrnoException).code && !source && !opts.source) {
          const fault: Fault = {
            layer: 'capture',
            code: 'unsupported',
            offset: 0,
            detail: `cannot read the file: ${(e as Error).message}`,
          };
          error = { fault, message: `${opts.file}: cannot read the file: ${(e as NodeJS.ErrnoException).code}` };
        } else throw e;
      } else {
        const ft = e.fault;
        error = {
          fault: ft,
          message: `${opts.file}: byte ${ft.offset}: ${ft.layer} ${ft.code}${ft.detail ? `: ${ft.detail}` : ''} (the ${summary.read} record${summary.read === 1 ? '' : 's'} before it ${summary.read === 1 ? 'was' : 'were'} replayed)`,
        };
      }
    } finally {
      source?.close();
    }
    emu.settle();
    recorder.close();
    summary.answered = point.answers.count;
    summary.error = error?.message;
    tally(summary, emu, injected, origin);
    const result: ReplayResult = {
      scenario: {
        name: 'replay',
        figure: `${opts.file} at ${point.label}`,
        summary: `${summary.read} records read, ${summary.injected} injected at ${point.label}`,
      },
      cluster,
      emulation: emu,
      flows: outcomeLines(summary),
      packets: emu.runtime.packets,
      recorder,
      passed: !error,
      files: ['walk.pcapng', ...recorder.pcapFiles()],
      dir: finalDir,
      summary,
    };
    if (error) result.error = error;
    if (tmpDir && finalDir) {
      const header = `replay of ${opts.file} at ${point.label} on ${opts.clusterFile}, seed ${seed}\n${formatReplaySummary(summary)}`;
      writeIn(tmpDir, 'trace.txt', renderWalkTrace(header, emu.runtime.packets));
      writeIn(
        tmpDir,
        'trace.json',
        JSON.stringify(
          {
            replay: opts.file,
            at: point.label,
            seed,
            summary,
            capturePoints: recorder
              .pointIdsInOrder()
              .map((i) => ({ ...recorder.points[i]!, frames: recorder.counts[i]! }))
              .filter((p) => p.frames > 0),
            packets: packetsToJson(emu.runtime.packets),
          },
          null,
          1,
        ) + '\n',
      );
      // Pictures and pages take the WalkResult shape `run` hands them (src/walk/walk-result.ts).
      writeIn(tmpDir, 'path.svg', renderPathSvg(result));
      writeIn(tmpDir, 'walk.html', renderWalkPage(replayPageInput(result, opts, point.label, seed)));
      result.files.push('trace.txt', 'trace.json', 'path.svg', 'walk.html');
      const record: ScenarioFolderRecord = {
        scenario: result.scenario.name,
        figure: result.scenario.figure,
        summary: result.scenario.summary,
        passed: result.passed,
        seed,
        cluster: opts.clusterFile,
        flows: groupFlows(result.flows),
      };
      const manifest: FolderManifest<ScenarioFolderRecord> = {
        packetwalk: 'scenario-folder',
        files: result.files,
        record,
      };
      writeIn(tmpDir, FOLDER_MANIFEST, JSON.stringify(manifest, null, 1) + '\n');
      unmarkTempDir(tmpDir);
      replaceFolder(tmpDir, finalDir);
    }
    return result;
  } catch (e) {
    recorder.abort();
    source?.close();
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    throw e;
  }
}

/** Write one file of the output folder; a file-system error names the file. */
function writeIn(dir: string, name: string, data: string): void {
  const p = join(dir, name);
  try {
    writeFileSync(p, data);
  } catch (e) {
    throw asOutputError(e, p);
  }
}

/** What walk.html shows for a replay: the traced packets, the summary's outcome lines as notes, the picture. */
function replayPageInput(result: ReplayResult, opts: ReplayOptions, at: string, seed: number) {
  return walkPageInput(
    {
      packets: result.packets,
      frames: result.recorder.frames,
      points: result.recorder.points,
      flows: emulationFlows(result.emulation),
    },
    {
      title: `replay of ${basename(opts.file)}`,
      subtitle: `at ${at} · ${result.scenario.summary} · ${opts.clusterFile}, seed ${seed}`,
      notes: [
        ...result.flows.map((f) => ({ text: f.detail, ok: f.ok })),
        ...(result.error ? [{ text: `stopped: ${result.error.message}`, ok: false }] : []),
      ],
      pictureSvg: renderPathSvg(result, { frameAttributes: true }),
    },
  );
}

function unparseable(summary: ReplaySummary, rec: CaptureRecord, f: Fault): void {
  const key = `${f.layer} ${f.code}`;
  const u = (summary.unparseable[key] ??= { count: 0, first: rec.number, example: f.detail ?? '' });
  u.count++;
}

/** Read each injected packet's outcome, and what the emulated hosts sent because of the capture. */
function tally(summary: ReplaySummary, emu: Emulation, injected: readonly number[], origin: string): void {
  const packets = emu.runtime.packets;
  for (const i of injected) count(summary, packets[i]!.outcome);
  for (const p of packets) {
    if (p.origin === origin || / \(flooded to [^)]*\)$/.test(p.label)) continue; // injected frames, copies of a broadcast
    const label =
      p.label
        .replace(/\d+\.\d+\.\d+\.\d+(:\d+)?/g, '')
        .replace(/ +/g, ' ')
        .trim() || p.label;
    const key = `${label} from ${p.origin}`;
    summary.sent[key] = (summary.sent[key] ?? 0) + 1;
  }
}

/** Count one injected frame's outcome (none: it is still waiting, e.g. queued for an ARP answer). */
function count(summary: ReplaySummary, o: WalkPacket['outcome'] | null | undefined): void {
  if (!o) summary.inFlight++;
  else if (o.kind === 'dropped') {
    const key = `${o.host}: ${o.reason ?? 'dropped'}${explainBridgeDrop(o.reason ?? '')}`;
    summary.dropped[key] = (summary.dropped[key] ?? 0) + 1;
  } else if (o.kind === 'consumed') {
    const key = `${o.host}: ${o.reason ?? ''}`;
    summary.consumed[key] = (summary.consumed[key] ?? 0) + 1;
  } else summary.delivered[o.host] = (summary.delivered[o.host] ?? 0) + 1;
}

function outcomeLines(s: ReplaySummary): { detail: string; ok: boolean }[] {
  const out: { detail: string; ok: boolean }[] = [];
  for (const [host, n] of Object.entries(s.delivered)) out.push({ detail: `${n} delivered to ${host}`, ok: true });
  for (const [why, n] of Object.entries(s.dropped)) out.push({ detail: `${n} dropped at ${why}`, ok: false });
  if (s.answered) out.push({ detail: `${s.answered} answers came back to ${s.point}`, ok: true });
  return out;
}

/** What OpenShift SDN means by a drop in the br0 tables a replayed frame typically dies in (openshift-flows.ts). */
const BRIDGE_DROPS: Record<string, string> = {
  '0': 'not IP or ARP, or VXLAN from outside the cluster network',
  '10': 'VXLAN from an address that is no node of the cluster: table 10 accepts tun_src of known HostSubnets only',
  '20': "source IP (or ARP sender MAC) is not the pod's own: OpenShift SDN's anti-spoofing",
  '80': 'NetworkPolicy / project isolation (VNID)',
  '100': 'EgressNetworkPolicy',
};

function explainBridgeDrop(reason: string): string {
  const m = /^br0: table (\d+) /.exec(reason);
  const why = m ? BRIDGE_DROPS[m[1]!] : undefined;
  return why ? ` (${why})` : '';
}
