/**
 * Codec suite: the per-packet work of the VXLAN tunnel port and the dissector, on frames of 64 and 1400 bytes
 * (inner Ethernet frame sizes). Every case checks once in setup that the codec produced what a decoder accepts,
 * so a fast but wrong codec fails the bench instead of winning it.
 */

import { decapsulate, VxlanDecapResult, VxlanEncapTemplate, vxlanSourcePort } from '../codecs/vxlan-encap.js';
import { dissect, Dissection, type DissectOptions } from '../codecs/dissect.js';
import { VXLAN_OVERHEAD } from '../codecs/vxlan.js';
import { BufferPool, HEADROOM, type PacketBuffer } from '../src/buffer/packet-buffer.js';
import { fillPool, flowVni, FrameBuilder, innerFlowHash, POOL_MASK, TUNNEL } from './frames.js';
import type { BenchCase, BenchSuite } from './registry.js';

const VXLAN_LAYERS = 'eth:ipv4:udp:vxlan:eth:ipv4:udp:payload';

/**
 * encap-N: vxlan0's hot path on a ready inner frame in a pooled PacketBuffer: 5-tuple hash of the inner
 * headers, outer source port, then the cached 50-byte template copied into the headroom and patched. The
 * buffer's start is reset afterwards so the next round encapsulates the same inner frame again.
 */
function encapCase(innerLength: number): BenchCase {
  const template = new VxlanEncapTemplate(TUNNEL);
  let bufs: PacketBuffer[] = [];
  const vnis = new Int32Array(POOL_MASK + 1);
  return {
    name: `encap-${innerLength}`,
    bytesPerOp: innerLength,
    scapy: `encap-${innerLength}`,
    setup() {
      const builder = new FrameBuilder(innerLength);
      bufs = fillPool(new BufferPool(), (b, k) => builder.buildInnerFrame(b, k));
      for (let k = 0; k < vnis.length; k++) vnis[k] = flowVni(k);
      // Self-check: one round, then the tunnel's own decapsulation must accept the frame and find the inner one.
      const b = bufs[3]!;
      const start = template.encapsulate(
        b.data,
        b.start,
        b.end,
        vnis[3]!,
        vxlanSourcePort(innerFlowHash(b.data, b.start)),
        1,
      );
      const r = new VxlanDecapResult();
      if (decapsulate(b.data, start, b.end, r) !== HEADROOM || r.vni !== vnis[3]) {
        throw new Error(
          `encap-${innerLength}: decapsulate rejected the encapsulated frame (${r.code ?? `vni ${r.vni}`})`,
        );
      }
    },
    run(n) {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const k = i & POOL_MASK;
        const b = bufs[k]!;
        const d = b.data;
        const srcPort = vxlanSourcePort(innerFlowHash(d, b.start));
        b.start = template.encapsulate(d, b.start, b.end, vnis[k]!, srcPort, i & 0xffff);
        acc += b.start;
        b.start += VXLAN_OVERHEAD;
      }
      return acc;
    },
    teardown() {
      bufs = [];
    },
  };
}

/**
 * dissect-N: the resulting VXLAN frame (outer Eth/IPv4/UDP/VXLAN, inner Eth/IPv4/UDP, payload) dissected
 * into one reused Dissection; with `verify`, every IPv4 and UDP checksum is checked too.
 */
function dissectCase(innerLength: number, verify: boolean): BenchCase {
  const out = new Dissection();
  const opts: DissectOptions = { verifyChecksums: verify };
  const name = `dissect-${innerLength}${verify ? '-verify' : ''}`;
  let bufs: PacketBuffer[] = [];
  return {
    name,
    bytesPerOp: innerLength + VXLAN_OVERHEAD,
    scapy: `dissect-${innerLength}`,
    setup() {
      const builder = new FrameBuilder(innerLength);
      const template = new VxlanEncapTemplate(TUNNEL);
      bufs = fillPool(new BufferPool(), (b, k) => {
        builder.buildInnerFrame(b, k);
        b.start = template.encapsulate(
          b.data,
          b.start,
          b.end,
          flowVni(k),
          vxlanSourcePort(innerFlowHash(b.data, b.start)),
          k,
        );
      });
      const b = bufs[5]!;
      dissect(b.data, b.start, b.end, out, { verifyChecksums: true });
      if (out.fault || out.protocols !== VXLAN_LAYERS || out.vni !== flowVni(5)) {
        throw new Error(`${name}: dissected ${out.protocols} vni ${out.vni}, fault ${JSON.stringify(out.fault)}`);
      }
    },
    run(n) {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const b = bufs[i & POOL_MASK]!;
        dissect(b.data, b.start, b.end, out, opts);
        acc += out.count + out.payloadLength;
      }
      return acc;
    },
    teardown() {
      bufs = [];
    },
  };
}

/**
 * build-N: a whole VXLAN frame from header objects with the emit* functions: payload copied in, inner
 * UDP (checksum computed over the payload), inner IPv4, inner Ethernet, VXLAN, outer UDP (checksum 0), outer
 * IPv4, outer Ethernet, each prepended into the headroom. Field values vary per flow.
 */
function buildCase(innerLength: number): BenchCase {
  const builder = new FrameBuilder(innerLength);
  const out = new Dissection();
  let bufs: PacketBuffer[] = [];
  return {
    name: `build-${innerLength}`,
    bytesPerOp: innerLength + VXLAN_OVERHEAD,
    scapy: `build-${innerLength}`,
    setup() {
      bufs = fillPool(new BufferPool(), (b, k) => builder.buildVxlanFrame(b, k));
      const b = bufs[7]!;
      dissect(b.data, b.start, b.end, out, { verifyChecksums: true });
      if (
        out.fault ||
        out.protocols !== VXLAN_LAYERS ||
        out.vni !== flowVni(7) ||
        b.length !== innerLength + VXLAN_OVERHEAD
      ) {
        throw new Error(
          `build-${innerLength}: built ${b.length} bytes dissected as ${out.protocols}, fault ${JSON.stringify(out.fault)}`,
        );
      }
    },
    run(n) {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += builder.buildVxlanFrame(bufs[i & POOL_MASK]!, i);
      return acc;
    },
    teardown() {
      bufs = [];
    },
  };
}

export const codecSuite: BenchSuite = {
  name: 'codec',
  cases: [
    encapCase(64),
    encapCase(1400),
    dissectCase(64, false),
    dissectCase(1400, false),
    dissectCase(64, true),
    dissectCase(1400, true),
    buildCase(64),
    buildCase(1400),
  ],
};
