/**
 * The five netfilter hooks as the stack calls them, in the kernel's order. The node's netfilter (src/netfilter)
 * implements them; a stack without netfilter (a pod, the external host) has none.
 */

import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { TraceRecorder } from '../trace/types.js';

export const NF_ACCEPT = 0;
export const NF_DROP = 1;
/** Rejected: the caller sends the ICMP error / TCP RST the rule asked for. */
export const NF_REJECT = 2;
export type NfVerdict = typeof NF_ACCEPT | typeof NF_DROP | typeof NF_REJECT;

export interface NetfilterHooks {
  prerouting(pkt: PacketBuffer, l3: number, inIf: string, trace?: TraceRecorder): NfVerdict;
  input(pkt: PacketBuffer, l3: number, inIf: string, trace?: TraceRecorder): NfVerdict;
  forward(pkt: PacketBuffer, l3: number, inIf: string, outIf: string, trace?: TraceRecorder): NfVerdict;
  output(pkt: PacketBuffer, l3: number, outIf: string, trace?: TraceRecorder): NfVerdict;
  postrouting(pkt: PacketBuffer, l3: number, outIf: string, trace?: TraceRecorder): NfVerdict;
  /** Text of the last rule that decided a verdict (for traces and drop reasons). */
  lastRule?(): string | undefined;
  /** Attach an ICMP error the stack generated to the connection of the packet it quotes (RELATED, NATed alike). */
  attachRelated?(errPkt: PacketBuffer, origPkt: PacketBuffer): void;
}
