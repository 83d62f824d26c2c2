/**
 * The replay's account of every record: read = injected + not injected (the point's host received it) +
 * unparseable (by typed fault); injected = delivered + dropped (by host and reason) + consumed + in flight.
 */

export interface ReplaySummary {
  file: string;
  point: string;
  /** `pcapng, little endian` / `pcap, big endian, nanosecond timestamps, snaplen 65535`. */
  format: string;
  /** Records read, by link type name. */
  read: number;
  linktypes: Record<string, number>;
  injected: number;
  /** Records the point's host received in the capture (the emulation makes its own answers instead): how many, and the first few. */
  notInjected: { count: number; examples: { record: number; why: string }[] };
  /** Injected frames traced hop by hop (the first `--trace-limit`); the rest walked untraced, their outcomes counted. */
  traced: number;
  /** Records that could not be frames, by `layer code`: how many, the first record number, an example detail. */
  unparseable: Record<string, { count: number; first: number; example: string }>;
  /** Injected frames delivered, by host. */
  delivered: Record<string, number>;
  /** Injected frames dropped, by `host: reason` (the flow, rule or kernel reason). */
  dropped: Record<string, number>;
  /** Injected frames a host looked at and ignored (an ARP for someone else), by `host: what`. */
  consumed: Record<string, number>;
  /** Injected frames with no outcome (none expected: settle ends ARP waits). */
  inFlight: number;
  /** Frames that came back to a transmit point (answers to the capture's host). */
  answered: number;
  /** Packets the emulated hosts sent while traced frames walked (SYN-ACKs, RSTs, ICMP errors, ARP), by kind and host. */
  sent: Record<string, number>;
  /** The broken-file error, when reading stopped early. */
  error?: string;
}

export function newSummary(file: string, point: string): ReplaySummary {
  return {
    file,
    point,
    format: '',
    read: 0,
    linktypes: {},
    injected: 0,
    notInjected: { count: 0, examples: [] },
    traced: 0,
    unparseable: {},
    delivered: {},
    dropped: {},
    consumed: {},
    inFlight: 0,
    answered: 0,
    sent: {},
  };
}

function sum(r: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(r)) n += v;
  return n;
}

/** Records that were neither injected nor set aside: zero unless the accounting has a bug. */
export function unaccounted(s: ReplaySummary): number {
  const unparseable = Object.values(s.unparseable).reduce((n, u) => n + u.count, 0);
  const outcomes = sum(s.delivered) + sum(s.dropped) + sum(s.consumed) + s.inFlight;
  return Math.abs(s.read - s.injected - s.notInjected.count - unparseable) + Math.abs(s.injected - outcomes);
}

/** The summary as text (stdout and the head of trace.txt). */
export function formatReplaySummary(s: ReplaySummary): string {
  const lines: string[] = [];
  const lt = Object.entries(s.linktypes)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  lines.push(
    `read ${s.read} record${s.read === 1 ? '' : 's'} from ${s.file}${s.format ? ` (${s.format}${lt ? `; ${lt}` : ''})` : ''}`,
  );
  lines.push(`injected at ${s.point}: ${s.injected}`);
  for (const [host, n] of Object.entries(s.delivered)) lines.push(`  delivered: ${n} to ${host}`);
  for (const [why, n] of Object.entries(s.dropped)) lines.push(`  dropped:   ${n} at ${why}`);
  for (const [why, n] of Object.entries(s.consumed)) lines.push(`  ignored:   ${n} at ${why}`);
  if (s.inFlight) lines.push(`  in flight: ${s.inFlight}`);
  if (s.injected > s.traced)
    lines.push(
      `  traced hop by hop: the first ${s.traced}; the other ${s.injected - s.traced} walked untraced (outcomes counted, captures written)`,
    );
  if (s.notInjected.count) {
    const first = s.notInjected.examples
      .slice(0, 3)
      .map((x) => `#${x.record} ${x.why}`)
      .join('; ');
    lines.push(
      `not injected (the other side's frames in the capture; the emulation answers for itself): ${s.notInjected.count} (${first}${s.notInjected.count > 3 ? '; ...' : ''})`,
    );
  }
  const u = Object.entries(s.unparseable);
  if (u.length) {
    lines.push(`unparseable: ${u.reduce((n, [, x]) => n + x.count, 0)}`);
    for (const [k, x] of u) lines.push(`  ${k}: ${x.count} (first #${x.first}${x.example ? `: ${x.example}` : ''})`);
  }
  if (s.answered) lines.push(`answered: ${s.answered} frame${s.answered === 1 ? '' : 's'} came back to ${s.point}`);
  const sent = Object.entries(s.sent);
  if (sent.length)
    lines.push(
      `sent by the emulated hosts${s.injected > s.traced ? ' (while traced frames walked)' : ''}: ${sent.map(([k, n]) => `${k} ×${n}`).join('; ')}`,
    );
  if (s.error) lines.push(`stopped: ${s.error}`);
  return lines.join('\n') + '\n';
}
