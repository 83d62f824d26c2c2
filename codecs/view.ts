/**
 * The base of every zero-copy header view (EthernetView, Ipv4View, TcpView, ...): a byte array and the offset of
 * the header in it, re-pointable without allocating. Each protocol's view adds its own check() and accessors.
 */
export class ByteView {
  constructor(
    public bytes: Uint8Array,
    public offset = 0,
  ) {}

  /** Re-point the view without allocating (hot path). */
  reset(bytes: Uint8Array, offset: number): this {
    this.bytes = bytes;
    this.offset = offset;
    return this;
  }
}
