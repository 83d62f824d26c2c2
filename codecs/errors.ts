/**
 * Faults: what a decoder says about bytes it cannot accept. The hot path returns a Fault (never throws);
 * convenience parse* functions wrap it in a DecodeError.
 */

/** Why a layer could not be decoded. Tests assert these codes, never message text. */
export type FaultCode =
  | 'truncated' // fewer bytes than the header or its declared length needs
  | 'bad-version' // IP version is not 4
  | 'bad-ihl' // IPv4 IHL < 5
  | 'bad-length' // a length field disagrees with the bytes present or with itself
  | 'bad-checksum' // a checksum that does not verify
  | 'bad-data-offset' // TCP data offset < 5 or past the segment
  | 'bad-flags' // VXLAN I bit clear
  | 'reserved-nonzero' // reserved bits that must be zero are not
  | 'bad-hardware' // ARP hardware/protocol type or sizes other than Ethernet/IPv4
  | 'bad-magic' // capture file magic number unknown
  | 'bad-block' // pcapng block malformed
  | 'unsupported'; // a well-formed thing this library does not decode

/** A decode fault: which layer, what went wrong, at which byte offset of the whole frame/file. */
export interface Fault {
  layer: string;
  code: FaultCode;
  offset: number;
  /** Short machine-written detail, e.g. `ihl=3`. */
  detail?: string;
}

/** Thrown by convenience decoders; carries the same Fault the dissector would report. */
export class DecodeError extends Error {
  readonly fault: Fault;
  constructor(fault: Fault) {
    super(
      `${fault.layer}: cannot decode (${fault.code}) at byte ${fault.offset}${fault.detail ? `: ${fault.detail}` : ''}`,
    );
    this.name = 'DecodeError';
    this.fault = fault;
  }
}

/** Thrown by emitters when a caller's buffer cannot hold what it asked to write. */
export class EncodeError extends Error {
  constructor(layer: string, message: string) {
    super(`${layer}: cannot encode: ${message}`);
    this.name = 'EncodeError';
  }
}

/** Build a Fault object (cold path only: allocates). */
export function fault(layer: string, code: FaultCode, offset: number, detail?: string): Fault {
  return detail === undefined ? { layer, code, offset } : { layer, code, offset, detail };
}
