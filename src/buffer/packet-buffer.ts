/**
 * PacketBuffer: one frame's bytes with headroom in front (so encapsulation prepends instead of copying, as
 * VPP's pre_data and gopacket's PrependBytes do) and the per-packet metadata Open vSwitch and the kernel keep
 * beside the bytes: in_port, reg0-reg2, tunnel fields, pkt_mark, conntrack state.
 *
 * Invariants: the frame is data[start, end). Prepended memory is not zeroed. Buffers come from a BufferPool
 * and go back to it; nothing in steady state allocates.
 */

/** Room in front of the frame: VXLAN needs 50 bytes; keep two encapsulations' worth plus slack. */
export const HEADROOM = 128;
/** Largest frame a buffer holds after its headroom (Ethernet 1514 + VXLAN 50, rounded up). */
export const MAX_FRAME = 2048;

/** OVS ct_state bits (ovs-fields(7)); the same values OVS prints as +new, +est, ... */
export const CT_NEW = 0x01;
export const CT_EST = 0x02;
export const CT_REL = 0x04;
export const CT_RPL = 0x08;
export const CT_INV = 0x10;
export const CT_TRK = 0x20;
export const CT_SNAT = 0x40;
export const CT_DNAT = 0x80;

/** Sentinel for "no tunnel": tun_src/tun_dst 0. */
export const NO_PORT = 0;

export class PacketBuffer {
  /** Backing store: HEADROOM + MAX_FRAME bytes. */
  readonly data: Buffer;
  /** First byte of the frame. */
  start = HEADROOM;
  /** One past the last byte of the frame. */
  end = HEADROOM;

  // --- OVS metadata (registers and tunnel fields; names as in ovs-fields(7)) ---
  inPort = 0;
  reg0 = 0;
  reg1 = 0;
  reg2 = 0;
  tunId = 0;
  tunSrc = 0;
  tunDst = 0;
  pktMark = 0;
  ctState = 0;
  ctZone = 0;
  ctMark = 0;
  /** Recirculation depth guard for ct(table=N). */
  recirc = 0;
  /**
   * The conntrack entry attached to this packet (the kernel's skb->_nfct): set by netfilter or OVS ct(), kept
   * while the packet moves between the kernel and OVS on one node (tun0), cleared where the kernel scrubs the
   * skb (veth crossing, tunnel encapsulation). Typed loosely so buffer/ does not depend on netfilter/.
   */
  ctEntry: object | null = null;

  /** Index of the packet in its walk (for captures and traces); -1 when not part of a walk. */
  walkIndex = -1;
  /** True when this packet's hops are recorded in a trace (the fast path leaves it false). */
  traced = false;
  /**
   * Why the frame is moving: the rule or route that last sent it (`route 10.128.0.0/14 dev tun0`, a br0 flow),
   * set by the hop that decides just before it hands the frame on and taken (read and cleared) by the next capture
   * point as its pcapng comment. Scratch like skb->cb: not cleared by clearMetadata (br0's output to tun0 scrubs
   * the metadata before the kernel's tun0 records the frame), only by `reset` and by the capture point that takes it.
   */
  hopReason: string | undefined = undefined;

  constructor(data?: Buffer) {
    this.data = data ?? Buffer.alloc(HEADROOM + MAX_FRAME);
  }

  get length(): number {
    return this.end - this.start;
  }

  /** Clear metadata and make the frame empty at the default headroom. */
  reset(): this {
    this.start = this.end = HEADROOM;
    this.clearMetadata();
    this.walkIndex = -1;
    this.traced = false;
    this.hopReason = undefined;
    return this;
  }

  /** Clear OVS/kernel metadata (what crossing a veth or leaving a bridge does). */
  clearMetadata(): void {
    this.inPort = this.reg0 = this.reg1 = this.reg2 = 0;
    this.tunId = this.tunSrc = this.tunDst = 0;
    this.pktMark = this.ctState = this.ctZone = this.ctMark = 0;
    this.recirc = 0;
    this.ctEntry = null;
  }

  /** Grow the frame at the front by `n` bytes and return the new start offset. Prepended bytes are not zeroed. */
  prepend(n: number): number {
    if (n > this.start) throw new RangeError(`prepend ${n} bytes: only ${this.start} bytes of headroom left`);
    this.start -= n;
    return this.start;
  }

  /** Drop `n` bytes from the front (decapsulation). */
  pull(n: number): void {
    if (n > this.length) throw new RangeError(`pull ${n} bytes from a ${this.length}-byte frame`);
    this.start += n;
  }

  /** Set the frame to be `length` bytes starting at the default headroom; returns the start offset to write at. */
  setFrame(length: number, headroom = HEADROOM): number {
    if (headroom + length > this.data.length) throw new RangeError(`frame of ${length} bytes does not fit`);
    this.start = headroom;
    this.end = headroom + length;
    return this.start;
  }

  /** Copy a frame's bytes in at the default headroom. */
  load(frame: Uint8Array, headroom = HEADROOM): this {
    const s = this.setFrame(frame.length, headroom);
    this.data.set(frame, s);
    return this;
  }

  /** Copy bytes and metadata from another buffer (output to more than one port). */
  copyFrom(o: PacketBuffer): this {
    this.start = o.start;
    this.end = o.end;
    o.data.copy(this.data, o.start, o.start, o.end);
    this.inPort = o.inPort;
    this.reg0 = o.reg0;
    this.reg1 = o.reg1;
    this.reg2 = o.reg2;
    this.tunId = o.tunId;
    this.tunSrc = o.tunSrc;
    this.tunDst = o.tunDst;
    this.pktMark = o.pktMark;
    this.ctState = o.ctState;
    this.ctZone = o.ctZone;
    this.ctMark = o.ctMark;
    this.recirc = o.recirc;
    this.walkIndex = o.walkIndex;
    this.traced = o.traced;
    this.ctEntry = o.ctEntry;
    return this;
  }

  /** The frame as a Buffer view (no copy; valid until the buffer is reused). */
  frame(): Buffer {
    return this.data.subarray(this.start, this.end);
  }
}

/** A free list of PacketBuffers so the steady state allocates nothing. */
export class BufferPool {
  private readonly free: PacketBuffer[] = [];
  allocated = 0;

  acquire(): PacketBuffer {
    const b = this.free.pop();
    if (b) return b.reset();
    this.allocated++;
    return new PacketBuffer();
  }

  release(b: PacketBuffer): void {
    this.free.push(b);
  }

  /** Buffers currently available without allocating. */
  get available(): number {
    return this.free.length;
  }
}
