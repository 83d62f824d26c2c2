/**
 * Where everything of a walk picture goes. Each node the walk touches is a box with one column per pod involved
 * (pod, its eth0, its veth) plus a tun0 and a vxlan0 column, crossed by two bands: br0 (the OVS bridge) and the
 * node kernel (routing, iptables, conntrack); the node NIC is a bar at the bottom. Nodes stand side by side
 * over the underlay line; the underlay gateway and the external hosts stand to the right. Every other node is
 * mirrored so two nodes face each other with their vxlan0s, as in the seed article's figures.
 *
 * Rows are at fixed heights, so arrows run vertically in columns and horizontally along a band or the underlay.
 */

import { ipv4ToString } from '../../codecs/bytes.js';
import type { WalkResult } from '../walk/walk-result.js';
import type { Place, WalkPath } from './hops.js';
import type { Rect } from './svg.js';
import { monoWidth } from './svg.js';

/** Row centres (absolute y). */
export const ROW = {
  nodeTop: 90,
  podTop: 140,
  tab: 214,
  veth: 300,
  br0: 370,
  port: 436,
  kernel: 500,
  nic: 564,
  nodeBottom: 590,
  underlay: 642,
  /** Interfaces of the gateway and external hosts that face the internet. */
  internet: 506,
} as const;

const COL_W = 214;
const GUTTER = 68;
const NODE_PAD = 14;
const NODE_GAP = 80;
const LEFT = 24;
const POD_W = 192;
const TAB_H = 18;
const EXTRA_TAB_DX = 66;
const GW_W = 190;
const EXT_W = 210;
const INTERNET_LEN = 120;

export type BoxStyle = 'node' | 'pod' | 'tab' | 'veth' | 'br0' | 'port' | 'kernel' | 'nic' | 'gateway' | 'external';

export interface TextLine {
  text: string;
  x: number;
  y: number;
  size: number;
  mono?: boolean;
  bold?: boolean;
  anchor?: 'start' | 'middle' | 'end';
  muted?: boolean;
}

export interface SceneBox {
  rect: Rect;
  style: BoxStyle;
  /** Drawn faded: an element the walk did not cross. */
  dim: boolean;
  lines: TextLine[];
}

/** A capture point's position: centre and half extents (arrows stop at the box edge). */
export interface Anchor {
  x: number;
  y: number;
  hw: number;
  hh: number;
}

export interface SceneLine {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  style: 'underlay' | 'internet';
  label: TextLine;
}

export interface Scene {
  boxes: SceneBox[];
  lines: SceneLine[];
  /** Left and right x of each node's NIC bar (arrows enter the bar where they arrive). */
  nicSpan: Map<string, [number, number]>;
  /** Anchor of a point, undefined for points the picture has no place for. */
  anchor(place: Place): Anchor | undefined;
  /** Right-most x drawn. */
  right: number;
}

type Column = { kind: 'pod'; key: string } | { kind: 'tun0' } | { kind: 'vxlan0' };

interface NodeLayout {
  name: string;
  x: number;
  width: number;
  mirrored: boolean;
  columns: Column[];
  colX: Map<string, number>;
}

function columnKey(c: Column): string {
  return c.kind === 'pod' ? `pod:${c.key}` : c.kind;
}

export function layoutScene(result: WalkResult, paths: readonly WalkPath[]): Scene {
  // What the walk touched, in order of first appearance.
  const nodes: string[] = [];
  const podsOf = new Map<string, string[]>();
  const extraIfs = new Map<string, string[]>();
  const crossed = new Set<number>();
  const externals: string[] = [];
  let gateway = false;
  for (const p of paths) {
    for (const f of p.frames) {
      const pl = f.place;
      crossed.add(pl.point);
      if (pl.node) {
        if (!podsOf.has(pl.node)) {
          nodes.push(pl.node);
          podsOf.set(pl.node, []);
        }
        if (pl.podKey) {
          const pods = podsOf.get(pl.node)!;
          if (!pods.includes(pl.podKey)) pods.push(pl.podKey);
          if (pl.kind === 'pod-if') {
            const l = extraIfs.get(pl.podKey) ?? [];
            if (!l.includes(pl.ifName)) l.push(pl.ifName);
            extraIfs.set(pl.podKey, l);
          }
        }
      } else if (pl.kind === 'gw-underlay' || pl.kind === 'gw-internet') gateway = true;
      else if (pl.kind === 'external' && !externals.includes(pl.host)) externals.push(pl.host);
    }
  }

  const emu = result.emulation;
  // A request that never arrived: still show the pod it was for (faded) when its node is in the picture.
  const dst = paths[0]?.frames[0]?.inner?.dst;
  if (dst !== undefined && paths[0]!.packet.outcome?.kind !== 'delivered') {
    for (const name of nodes) {
      for (const [key, inst] of emu.nodes.get(name)?.pods ?? []) {
        const pods = podsOf.get(name)!;
        if (inst.pod.ip === dst && !pods.includes(key)) pods.push(key);
      }
    }
  }
  const boxes: SceneBox[] = [];
  const anchors = new Map<string, Anchor>();
  const nicSpan = new Map<string, [number, number]>();
  const layouts: NodeLayout[] = [];
  let x = LEFT;
  nodes.forEach((name, i) => {
    const cols: Column[] = [
      ...podsOf.get(name)!.map((key): Column => ({ kind: 'pod', key })),
      { kind: 'tun0' },
      { kind: 'vxlan0' },
    ];
    const mirrored = i % 2 === 1;
    if (mirrored) cols.reverse();
    const width = GUTTER + cols.length * COL_W + NODE_PAD;
    const colX = new Map<string, number>();
    const first = x + (mirrored ? NODE_PAD : GUTTER);
    for (const [j, c] of cols.entries()) colX.set(columnKey(c), first + j * COL_W + COL_W / 2);
    layouts.push({ name, x, width, mirrored, columns: cols, colX });
    x += width + NODE_GAP;
  });
  const nodesRight = layouts.length ? x - NODE_GAP : LEFT;

  for (const n of layouts) {
    const node = emu.nodes.get(n.name);
    const hs = result.cluster.hostSubnets.find((h) => h.name === n.name);
    const nodeRect = { x: n.x, y: ROW.nodeTop, w: n.width, h: ROW.nodeBottom - ROW.nodeTop };
    const sub = hs
      ? `node IP ${ipv4ToString(hs.hostIP)} · pod subnet ${ipv4ToString(hs.subnet.network)}/${hs.subnet.prefix}`
      : '';
    boxes.push({
      rect: nodeRect,
      style: 'node',
      dim: false,
      lines: [
        { text: `node ${n.name}`, x: n.x + 12, y: ROW.nodeTop + 19, size: 13, bold: true },
        { text: sub, x: n.x + 12, y: ROW.nodeTop + 35, size: 11, mono: true, muted: true },
      ],
    });
    // Bands: br0 and the node kernel, labelled in the gutter (left, or right when mirrored).
    const bandX = n.x + 6,
      bandW = n.width - 12;
    const labelX = n.mirrored ? n.x + n.width - 10 : n.x + 10;
    const anchor = n.mirrored ? 'end' : 'start';
    boxes.push({
      rect: { x: bandX, y: ROW.br0 - 19, w: bandW, h: 38 },
      style: 'br0',
      dim: false,
      lines: [
        { text: 'br0', x: labelX, y: ROW.br0 - 2, size: 13, bold: true, anchor },
        { text: 'OVS', x: labelX, y: ROW.br0 + 12, size: 10, anchor, muted: true },
      ],
    });
    boxes.push({
      rect: { x: bandX, y: ROW.kernel - 17, w: bandW, h: 34 },
      style: 'kernel',
      dim: false,
      lines: [
        { text: 'kernel', x: labelX, y: ROW.kernel - 2, size: 11, bold: true, anchor },
        { text: 'iptables', x: labelX, y: ROW.kernel + 11, size: 10, anchor, muted: true },
      ],
    });
    // NIC bar along the bottom.
    const nicAddrs = node
      ? node.nic.addresses.map((a) => `${ipv4ToString(a.ip)}/${a.prefix}${a.label ? ' (egress IP)' : ''}`).join(', ')
      : '';
    const nicRect = { x: bandX, y: ROW.nic - 13, w: bandW, h: 26 };
    const nicPoint = node?.nic.tap ?? -1;
    boxes.push({
      rect: nicRect,
      style: 'nic',
      dim: !crossed.has(nicPoint),
      lines: [{ text: `eth0 ${nicAddrs}`, x: labelX, y: ROW.nic + 4, size: 11, mono: true, anchor }],
    });
    nicSpan.set(n.name, [nicRect.x + 20, nicRect.x + nicRect.w - 20]);

    for (const c of n.columns) {
      const cx = n.colX.get(columnKey(c))!;
      if (c.kind === 'pod') {
        const inst = node?.pods.get(c.key);
        const podIp = inst ? ipv4ToString(inst.pod.ip) : '';
        const [ns, podName] = splitKey(c.key);
        const podCrossed = !!inst && (crossed.has(inst.eth0.tap) || crossed.has(inst.veth.tap));
        boxes.push({
          rect: { x: cx - POD_W / 2, y: ROW.podTop, w: POD_W, h: ROW.tab - ROW.podTop },
          style: 'pod',
          dim: !podCrossed,
          lines: [
            { text: `pod ${podName}`, x: cx, y: ROW.podTop + 17, size: 12, bold: true, anchor: 'middle' },
            {
              text: `${ns} · ${podIp}`,
              x: cx,
              y: ROW.podTop + 32,
              size: 11,
              mono: true,
              anchor: 'middle',
              muted: true,
            },
          ],
        });
        const eth0 = tab(cx, 'eth0');
        eth0.box.dim = !podCrossed;
        boxes.push(eth0.box);
        if (inst) anchors.set(`p${inst.eth0.tap}`, eth0.anchor);
        (extraIfs.get(c.key) ?? []).forEach((ifName, k) => {
          const t = tab(cx + (k + 1) * EXTRA_TAB_DX, ifName);
          boxes.push(t.box);
          const i = inst?.stack.interfaces.find((x) => x.name === ifName);
          if (i) anchors.set(`p${i.tap}`, t.anchor);
        });
        if (inst) {
          const name = inst.veth.name;
          const w = Math.max(monoWidth(name, 10), monoWidth(`port ${inst.veth.ofport}`, 10)) + 14;
          const r = { x: cx - w / 2, y: ROW.veth - 16, w, h: 32 };
          boxes.push({
            rect: r,
            style: 'veth',
            dim: !crossed.has(inst.veth.tap),
            lines: [
              { text: name, x: cx, y: ROW.veth - 3, size: 10, mono: true, anchor: 'middle' },
              {
                text: `port ${inst.veth.ofport}`,
                x: cx,
                y: ROW.veth + 10,
                size: 9,
                mono: true,
                anchor: 'middle',
                muted: true,
              },
            ],
          });
          anchors.set(`p${inst.veth.tap}`, { x: cx, y: ROW.veth, hw: w / 2, hh: 16 });
        }
      } else if (node) {
        const port = c.kind === 'tun0' ? node.tun0 : node.vxlan0;
        const tap = port.tap;
        const t1 =
          c.kind === 'tun0' ? `tun0 ${node.tun0.addresses.map((a) => ipv4ToString(a.ip)).join(', ')}` : 'vxlan0';
        const t2 = c.kind === 'tun0' ? 'br0 port 2' : 'br0 port 1 · udp/4789';
        const w = Math.max(monoWidth(t1, 10.5), monoWidth(t2, 9)) + 16;
        boxes.push({
          rect: { x: cx - w / 2, y: ROW.port - 16, w, h: 32 },
          style: 'port',
          dim: !crossed.has(tap),
          lines: [
            { text: t1, x: cx, y: ROW.port - 3, size: 10.5, mono: true, anchor: 'middle' },
            { text: t2, x: cx, y: ROW.port + 10, size: 9, mono: true, anchor: 'middle', muted: true },
          ],
        });
        anchors.set(`p${tap}`, { x: cx, y: ROW.port, hw: w / 2, hh: 16 });
      }
    }
  }

  const lines: SceneLine[] = [];
  let right = nodesRight;
  if (gateway || externals.length) {
    const gx = nodesRight + NODE_GAP;
    const top = ROW.internet - 70,
      bottom = ROW.nic + 10;
    const gw = emu.gateway;
    const underlayLeg = gw.interfaces.find((i) => i.hasAddress(result.cluster.underlay.gateway));
    const internetLeg = gw.interfaces.find((i) => i !== underlayLeg);
    boxes.push({
      rect: { x: gx, y: top, w: GW_W, h: bottom - top },
      style: 'gateway',
      dim: !gateway,
      lines: [
        { text: 'underlay gateway', x: gx + GW_W / 2, y: top + 20, size: 12, bold: true, anchor: 'middle' },
        {
          text: underlayLeg ? `eth0 ${ipv4ToString(underlayLeg.primaryIp)}` : '',
          x: gx + GW_W / 2,
          y: top + 36,
          size: 10,
          mono: true,
          anchor: 'middle',
          muted: true,
        },
        {
          text: internetLeg ? `eth1 ${internetLeg.addresses.map((a) => ipv4ToString(a.ip)).join(', ')}` : '',
          x: gx + GW_W / 2,
          y: top + 50,
          size: 10,
          mono: true,
          anchor: 'middle',
          muted: true,
        },
      ],
    });
    const t0 = tab(gx + GW_W / 2, 'eth0', bottom);
    boxes.push(t0.box);
    if (underlayLeg) anchors.set(`p${underlayLeg.tap}`, t0.anchor);
    const t1 = tabSide(gx + GW_W, ROW.internet, 'eth1');
    boxes.push(t1.box);
    if (internetLeg) anchors.set(`p${internetLeg.tap}`, t1.anchor);
    right = gx + GW_W + 24;
    externals.forEach((name, i) => {
      const ex = gx + GW_W + INTERNET_LEN;
      const y = ROW.internet - i * 110;
      const s = emu.externals.get(name);
      const leg = s?.interfaces[0];
      const ip = leg ? ipv4ToString(leg.primaryIp) : '';
      boxes.push({
        rect: { x: ex, y: y - 60, w: EXT_W, h: 84 },
        style: 'external',
        dim: false,
        lines: [
          { text: `external host ${name}`, x: ex + EXT_W / 2, y: y - 38, size: 12, bold: true, anchor: 'middle' },
          { text: ip, x: ex + EXT_W / 2, y: y - 20, size: 11, mono: true, anchor: 'middle', muted: true },
        ],
      });
      const t = tabSide(ex, y, 'eth0');
      boxes.push(t.box);
      if (leg) anchors.set(`p${leg.tap}`, t.anchor);
      if (i === 0)
        lines.push({
          x1: gx + GW_W,
          y1: y,
          x2: ex,
          y2: y,
          style: 'internet',
          label: {
            text: 'internet',
            x: gx + GW_W + INTERNET_LEN / 2,
            y: y - 30,
            size: 10,
            anchor: 'middle',
            muted: true,
          },
        });
      right = Math.max(right, ex + EXT_W + 24);
    });
  }
  const u = result.cluster.underlay;
  const underlayRight = gateway ? nodesRight + NODE_GAP + GW_W : nodesRight;
  lines.push({
    x1: LEFT,
    y1: ROW.underlay,
    x2: underlayRight,
    y2: ROW.underlay,
    style: 'underlay',
    label: {
      text: `underlay ${ipv4ToString(u.cidr.network)}/${u.cidr.prefix}`,
      x: LEFT + 4,
      y: ROW.underlay + 18,
      size: 11,
      mono: true,
      muted: true,
    },
  });

  return {
    boxes,
    lines,
    nicSpan,
    right: Math.max(right, underlayRight),
    anchor(place: Place): Anchor | undefined {
      if (place.kind === 'nic' && place.node) {
        const s = nicSpan.get(place.node);
        return s ? { x: (s[0] + s[1]) / 2, y: ROW.nic, hw: (s[1] - s[0]) / 2, hh: 13 } : undefined;
      }
      return anchors.get(`p${place.point}`);
    },
  };
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
}

/** An interface tab sitting on the bottom edge of a box (pod eth0, gateway eth0). */
function tab(cx: number, name: string, y: number = ROW.tab): { box: SceneBox; anchor: Anchor } {
  const w = monoWidth(name, 10) + 14;
  return {
    box: {
      rect: { x: cx - w / 2, y: y - TAB_H / 2, w, h: TAB_H },
      style: 'tab',
      dim: false,
      lines: [{ text: name, x: cx, y: y + 3.5, size: 10, mono: true, anchor: 'middle' }],
    },
    anchor: { x: cx, y, hw: w / 2, hh: TAB_H / 2 },
  };
}

/** An interface on the side edge of a box (gateway eth1, external host eth0): a short bar, its name above it. */
function tabSide(x: number, y: number, name: string): { box: SceneBox; anchor: Anchor } {
  const w = 10,
    h = 30;
  return {
    box: {
      rect: { x: x - w / 2, y: y - h / 2, w, h },
      style: 'tab',
      dim: false,
      lines: [{ text: name, x, y: y - h / 2 - 5, size: 10, mono: true, anchor: 'middle' }],
    },
    anchor: { x, y, hw: w / 2, hh: h / 2 },
  };
}
