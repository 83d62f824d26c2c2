/**
 * Byte sinks for the capture writers (pcap, pcapng): a writer asks the sink for room with `reserve(n)` and fills
 * `sink.buf` at the returned offset, or hands it a byte range with `write()`. Writers never see a file or a path
 * (smoltcp's PcapSink idea), so the same writer fills a file or memory.
 *
 * FileSink keeps memory bounded: one buffer, flushed with a single writeSync when full; it starts at 4 KiB and
 * doubles up to its full size as bytes come (a run on a 2,000-node cluster writes a pcap for every NIC that saw one
 * broadcast ARP: 2,000 small files, not 2 GB of buffers), then never changes. It writes to
 * `<path>.<pid>.tmp` beside the target and renames on close(), so a reader never sees a half-written capture
 * under the final name; abort() (or any failure while writing) deletes the temporary file.
 */

import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

/** Where capture writers put bytes. Nothing here allocates per call once the buffer is large enough. */
export interface ByteSink {
  /**
   * The current buffer. Re-read it after every `reserve()`: a MemorySink replaces it when it grows, and a
   * FileSink reuses it after a flush.
   */
  readonly buf: Buffer;
  /**
   * Commit the next `n` bytes of the stream and return where they start in `buf`. The caller must fill all `n`
   * bytes before its next call to the sink (reserved memory is not zeroed).
   */
  reserve(n: number): number;
  /** Append `bytes[start, end)`. */
  write(bytes: Uint8Array, start?: number, end?: number): void;
  /** Bytes committed so far: the stream offset of the next byte. */
  readonly position: number;
}

/** Up to this many bytes are copied by a plain loop: no view is created, so nothing is allocated. */
const LOOP_COPY_MAX = 256;

/**
 * Copy `src[start, end)` into `dst` at `offset`. Short ranges (headers, ACKs, most captured frames of a walk)
 * are copied byte by byte, which allocates nothing; longer ones with Buffer.copy, the fastest path Node has
 * (about 90 ns for 1400 bytes), which in Node 20 still makes a short-lived view inside the call.
 */
function copyInto(dst: Buffer, offset: number, src: Uint8Array, start: number, end: number): void {
  const n = end - start;
  if (n <= LOOP_COPY_MAX) {
    // Eight bytes per iteration: about twice as fast as one byte per iteration in V8 11.
    let i = 0;
    for (; i + 8 <= n; i += 8) {
      const d = offset + i,
        s = start + i;
      dst[d] = src[s]!;
      dst[d + 1] = src[s + 1]!;
      dst[d + 2] = src[s + 2]!;
      dst[d + 3] = src[s + 3]!;
      dst[d + 4] = src[s + 4]!;
      dst[d + 5] = src[s + 5]!;
      dst[d + 6] = src[s + 6]!;
      dst[d + 7] = src[s + 7]!;
    }
    for (; i < n; i++) dst[offset + i] = src[start + i]!;
  } else if (Buffer.isBuffer(src)) {
    src.copy(dst, offset, start, end);
  } else {
    dst.set(src.subarray(start, end), offset);
  }
}

/** Default FileSink buffer: large enough that writeSync calls are few and big. */
export const FILE_SINK_BUFFER_SIZE = 1 << 20;

/** First size of a FileSink's buffer (see FileSink). */
export const FILE_SINK_INITIAL_SIZE = 1 << 12;

/** Streams bytes to a file through one buffer; temp-then-rename so the final name only ever holds a whole file. */
export class FileSink implements ByteSink {
  buf: Buffer;
  /** The file that exists after close(). */
  readonly path: string;
  /** Where bytes go until close(): same directory, so the rename is atomic. */
  readonly tempPath: string;
  private fill = 0;
  private flushed = 0;
  private fd: number;
  private state: 'open' | 'closed' | 'aborted' = 'open';

  /** The size the buffer grows to. */
  private readonly bufferSize: number;

  constructor(path: string, bufferSize = FILE_SINK_BUFFER_SIZE) {
    this.path = path;
    this.tempPath = `${path}.${process.pid}.tmp`;
    this.bufferSize = bufferSize;
    this.buf = Buffer.allocUnsafe(Math.min(bufferSize, FILE_SINK_INITIAL_SIZE));
    this.fd = openSync(this.tempPath, 'w');
  }

  get position(): number {
    return this.flushed + this.fill;
  }

  /** True until close() or abort(). */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  reserve(n: number): number {
    if (this.state !== 'open') this.assertOpen();
    if (this.fill + n > this.buf.length && this.buf.length < this.bufferSize && this.fill + n <= this.bufferSize) {
      // Still growing: double (the bytes so far move along).
      let size = this.buf.length * 2;
      while (size < this.fill + n) size *= 2;
      const grown = Buffer.allocUnsafe(Math.min(size, this.bufferSize));
      this.buf.copy(grown, 0, 0, this.fill);
      this.buf = grown;
    }
    if (this.fill + n > this.buf.length) {
      this.flush();
      // Only a single record larger than the whole buffer gets here (a huge comment); grow once for it.
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    }
    const off = this.fill;
    this.fill += n;
    return off;
  }

  write(bytes: Uint8Array, start = 0, end = bytes.length): void {
    const n = end - start;
    if (n > this.bufferSize >>> 1) {
      // Big ranges skip the copy: flush what is buffered and hand the caller's bytes to the kernel directly.
      this.flush();
      this.writeAll(bytes, start, n);
      this.flushed += n;
      return;
    }
    const off = this.reserve(n);
    copyInto(this.buf, off, bytes, start, end);
  }

  /** Write the buffered bytes to the file (one writeSync unless the kernel takes less). */
  flush(): void {
    this.assertOpen();
    if (this.fill === 0) return;
    this.writeAll(this.buf, 0, this.fill);
    this.flushed += this.fill;
    this.fill = 0;
  }

  /** Flush, close and rename the temporary file to `path`. On failure the temporary file is removed. */
  close(): void {
    if (this.state === 'closed') return;
    this.flush();
    try {
      closeSync(this.fd);
      this.fd = -1;
      renameSync(this.tempPath, this.path);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.state = 'closed';
  }

  /** Drop everything written: close and delete the temporary file. The final name is never touched. Idempotent. */
  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* already failing; the unlink below matters more */
      }
      this.fd = -1;
    }
    try {
      unlinkSync(this.tempPath);
    } catch {
      /* already gone */
    }
  }

  private writeAll(bytes: Uint8Array, start: number, n: number): void {
    try {
      let done = 0;
      while (done < n) done += writeSync(this.fd, bytes, start + done, n - done);
    } catch (e) {
      this.abort();
      // writeSync's errors (ENOSPC, EDQUOT, EIO) carry no path: name the file for the message.
      const err = e as NodeJS.ErrnoException;
      if (err && typeof err === 'object' && err.path === undefined) err.path = this.tempPath;
      throw e;
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`FileSink ${this.path}: already ${this.state}`);
  }
}

/**
 * Run `fill` with a FileSink on `path`, then close it (rename into place). If `fill` throws, the sink is aborted
 * and no file appears under `path`. Returns the number of bytes written.
 */
export function writeFileWithSink(path: string, fill: (sink: FileSink) => void, bufferSize?: number): number {
  const sink = new FileSink(path, bufferSize);
  try {
    fill(sink);
    sink.close();
  } catch (e) {
    sink.abort();
    throw e;
  }
  return sink.position;
}

/** A growable in-memory sink (tests, and callers that want the bytes). Doubles its buffer when full. */
export class MemorySink implements ByteSink {
  buf: Buffer;
  private fill = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  get position(): number {
    return this.fill;
  }

  reserve(n: number): number {
    const need = this.fill + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      this.buf.copy(grown, 0, 0, this.fill);
      this.buf = grown;
    }
    const off = this.fill;
    this.fill = need;
    return off;
  }

  write(bytes: Uint8Array, start = 0, end = bytes.length): void {
    const off = this.reserve(end - start);
    copyInto(this.buf, off, bytes, start, end);
  }

  /** The bytes written so far, as a view (valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.fill);
  }

  /** Forget the contents, keeping the buffer. */
  clear(): void {
    this.fill = 0;
  }
}
