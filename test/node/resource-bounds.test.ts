/**
 * The kernel's and Open vSwitch's resource limits, met in whole walks: a full conntrack table drops new
 * connections with the kernel's message, the queue of packets waiting for an ARP answer is bounded by
 * unres_qlen_bytes, and looping br0 flows stop at OVS's translation limits — each a counted drop, nothing thrown,
 * no buffer lost.
 */

import { describe, expect, it } from 'vitest';
import { ipv4 } from '../../codecs/bytes.js';
import { builtinCluster, Emulation, runFlow, type FlowSpec } from '../../src/index.js';
import { skbTruesize, UNRES_QLEN_BYTES } from '../../src/node/stack.js';

const WORKER1 = 'aro2-p8bjm-worker-northeurope1-qt8l7';
const SQLAPI = { kind: 'pod', namespace: 'project1', name: 'sqlapi-1-8jgx8' } as const;
/** sqlapi -> the `server` service (DNAT on worker1, VXLAN to worker3). */
const TO_SERVICE: FlowSpec = { from: SQLAPI, to: { ip: ipv4('172.30.72.7'), port: 1433 }, proto: 'tcp' };

function dropsMatching(emu: Emulation, re: RegExp): number {
  let n = 0;
  for (const [k, v] of emu.runtime.drops) if (re.test(k)) n += v;
  return n;
}

/** Buffers the pool handed out and never got back (every walk must return each one). */
function leaked(emu: Emulation): number {
  const p = emu.runtime.pool;
  return p.allocated - p.available;
}

describe('nf_conntrack_max', () => {
  it('a full table drops new connections with "nf_conntrack: table full, dropping packet", counted; old ones carry on', () => {
    const emu = new Emulation(builtinCluster(), { seed: 5 });
    const ct = emu.node(WORKER1).netfilter.conntrack;
    // Each conversation leaves one assured entry (TIME_WAIT, 120 s): three fill a table of three.
    ct.max = 3;
    for (let i = 0; i < 3; i++) {
      expect(runFlow(emu, TO_SERVICE).outcome).toBe('completed');
      emu.runtime.clock.advance(1_000_000);
    }
    expect(ct.count).toBe(3);
    const f = runFlow(emu, TO_SERVICE);
    expect(f.outcome).toBe('unanswered');
    expect(ct.stats.drop).toBeGreaterThanOrEqual(1);
    expect(ct.lastMessage).toBe('nf_conntrack: table full, dropping packet');
    expect(dropsMatching(emu, /table full, dropping packet/)).toBe(ct.stats.drop);
    expect(leaked(emu)).toBe(0);
    // Once the TIME_WAIT entries expire (120 s), new connections are tracked again.
    emu.runtime.clock.advance(121_000_000_000);
    expect(runFlow(emu, TO_SERVICE).outcome).toBe('completed');
  });
});

describe('unres_qlen_bytes', () => {
  it('bounds the packets queued for one unresolved neighbour by their truesize, dropping the oldest', () => {
    const emu = new Emulation(builtinCluster(), { seed: 5 });
    const ext = emu.external(emu.cluster.externalHosts[0]!.name);
    const nobody = ipv4('203.0.113.99'); // on the external host's /24; nothing answers its ARP
    const payload = new Uint8Array(1000 - 28);
    const sent = 400;
    for (let i = 0; i < sent; i++) ext.sockets.sendUdp(nobody, 9, payload, 40000);
    const truesize = skbTruesize(1000 + 14);
    const queued = Math.floor(UNRES_QLEN_BYTES / truesize); // 133
    expect(queued).toBe(133);
    expect(dropsMatching(emu, /queue full \(unres_qlen_bytes 212992\), oldest packet dropped/)).toBe(sent - queued);
    // The neighbour never answers: after three ARP requests the queued packets are dropped too.
    emu.settle();
    expect(dropsMatching(emu, /ARP for 203\.0\.113\.99 on eth0 failed after 3 requests/)).toBe(queued);
    expect(leaked(emu)).toBe(0);
  });

  it("counts a full-sized frame as SKB_TRUESIZE(1514), so 101 fit (the kernel's unres_qlen)", () => {
    expect(Math.floor(UNRES_QLEN_BYTES / skbTruesize(1514))).toBe(101);
  });
});

describe('br0 translation limits in a walk', () => {
  it('a resubmit loop stops at depth 64: a trace error, a counted drop, the conversation unanswered', () => {
    const emu = new Emulation(builtinCluster(), { seed: 5 });
    emu.node(WORKER1).bridge.addFlow('table=0,priority=2000,ip,nw_src=10.131.0.40 actions=resubmit(,0)');
    emu.runtime.tracing = true;
    const f = runFlow(emu, TO_SERVICE);
    expect(f.outcome).toBe('unanswered');
    const syn = emu.runtime.packets[0]!;
    expect(syn.outcome).toMatchObject({
      kind: 'dropped',
      reason: expect.stringMatching(/over max translation depth 64/),
    });
    expect(JSON.stringify(syn.trace.root)).toMatch(/Translation failed \(Recursion too deep\), packet is dropped/);
    expect(dropsMatching(emu, /over max translation depth 64/)).toBeGreaterThanOrEqual(1);
    expect(leaked(emu)).toBe(0);
  });

  it('a fan-out of resubmits stops at 4,096 table lookups (MAX_RESUBMITS) though never 64 deep', () => {
    const emu = new Emulation(builtinCluster(), { seed: 5 });
    const br = emu.node(WORKER1).bridge;
    // Thirteen levels of two resubmits each: 2^13 = 8192 lookups, depth 14.
    br.addFlow('table=0,priority=2000,ip,nw_src=10.131.0.40 actions=resubmit(,200)');
    for (let t = 200; t < 213; t++) br.addFlow(`table=${t},priority=1 actions=resubmit(,${t + 1}),resubmit(,${t + 1})`);
    br.addFlow('table=213,priority=1 actions=load:0x1->NXM_NX_REG3[]');
    emu.runtime.tracing = true;
    const f = runFlow(emu, TO_SERVICE);
    expect(f.outcome).toBe('unanswered');
    expect(emu.runtime.packets[0]!.outcome?.reason).toMatch(/over 4096 resubmit actions/);
    expect(dropsMatching(emu, /over 4096 resubmit actions/)).toBeGreaterThanOrEqual(1);
    expect(leaked(emu)).toBe(0);
  });
});
