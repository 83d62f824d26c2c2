#!/usr/bin/python3
"""Scapy side of `npm run bench`: the same per-packet operations as bench/*.bench.ts, written the way a scapy
user writes them, each run for a fixed short time. Prints one JSON object on stdout:

  {"scapy": "2.5.0", "python": "3.11.2", "seconds": 1.0, "pps": {"build-64": 950.1, ...}}

Keys (sizes are inner Ethernet frame sizes, as in the TypeScript benches):
  encap-N         Ether/IP/UDP(4789)/VXLAN stacked on the ready inner frame's bytes, then raw()
  build-N         the whole Ether/IP/UDP/VXLAN/Ether/IP/UDP/payload built from fields, then raw()
  dissect-N       Ether(bytes) of the VXLAN frame (scapy dissects every layer), reading the VNI and inner fields
  pcap-write-N    RawPcapWriter.write(bytes) of N-byte frames into a file
  pcapng-write-N  RawPcapNgWriter.write(bytes) of N-byte frames into a file

Exit status 3 with {"error": ...} when scapy cannot be imported. Run it with Debian's /usr/bin/python3, where
python3-scapy lives.
"""

import argparse
import json
import os
import platform
import sys
import time

# Addresses as in bench/frames.ts (OpenShift SDN: pods 10.128.0.0/14, pod MAC 0a:58:<IPv4>, node IPs outside).
NODE1_MAC, NODE2_MAC = "52:54:00:00:01:0b", "52:54:00:00:01:0c"
NODE1_IP, NODE2_IP = "192.168.126.11", "192.168.126.12"
POD_A_IP, POD_B_IP = "10.128.0.5", "10.129.0.7"
POD_A_MAC, POD_B_MAC = "0a:58:0a:80:00:05", "0a:58:0a:81:00:07"
INNER_HEADERS = 42  # Ethernet + IPv4 + UDP
POOL = 64  # distinct flows cycled through, prebuilt where an operation needs input bytes


def pattern(n):
    return bytes((j * 31 + 7) & 0xFF for j in range(n))


def run_for(op, seconds):
    """Call op(i) for i = 0, 1, ... for about `seconds`; return the number of calls. The clock is read once per
    chunk (chunks grow to 256 calls), which costs nothing next to a scapy operation."""
    done, chunk = 0, 1
    t0 = time.perf_counter()
    while True:
        for i in range(done, done + chunk):
            op(i)
        done += chunk
        if time.perf_counter() - t0 >= seconds:
            return done
        chunk = min(chunk * 2, 256)


def per_second(op, seconds):
    t0 = time.perf_counter()
    n = run_for(op, seconds)
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    ap.add_argument("--only", default="", help="comma-separated keys to measure (default: all)")
    ap.add_argument("--dir", default="/tmp", help="where the capture files are written (and deleted)")
    a = ap.parse_args()

    try:
        import scapy
        from scapy.compat import raw
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        from scapy.layers.vxlan import VXLAN
        from scapy.packet import Raw
        from scapy.utils import RawPcapNgWriter, RawPcapWriter
    except ImportError as e:
        print(json.dumps({"error": "scapy not installed: %s" % e}))
        return 3

    def inner(size, i):
        return (Ether(src=POD_A_MAC, dst=POD_B_MAC)
                / IP(src=POD_A_IP, dst=POD_B_IP, id=i & 0xFFFF, ttl=64, flags="DF")
                / UDP(sport=40000 + (i & 0x3FFF), dport=9)
                / Raw(payloads[size]))

    def outer(i, payload):
        # Outer UDP checksum 0 and DF set, as OVS's vxlan0 sends them.
        return (Ether(src=NODE1_MAC, dst=NODE2_MAC)
                / IP(src=NODE1_IP, dst=NODE2_IP, id=(i * 7) & 0xFFFF, ttl=64, flags="DF")
                / UDP(sport=32768 + (i % 28232), dport=4789, chksum=0)
                / VXLAN(flags=0x08, vni=1 + (i % 4096))
                / payload)

    sizes = (64, 1400)
    payloads = {s: pattern(s - INNER_HEADERS) for s in sizes}
    inner_bytes = {s: [raw(inner(s, k)) for k in range(POOL)] for s in sizes}
    vxlan_bytes = {s: [raw(outer(k, inner(s, k))) for k in range(POOL)] for s in sizes}
    sink = [0]

    def encap(size):
        frames = inner_bytes[size]
        return lambda i: sink.__setitem__(0, sink[0] + len(raw(outer(i, Raw(frames[i % POOL])))))

    def build(size):
        return lambda i: sink.__setitem__(0, sink[0] + len(raw(outer(i, inner(size, i)))))

    def dissect(size):
        frames = vxlan_bytes[size]

        def op(i):
            p = Ether(frames[i % POOL])
            inner_ip = p[VXLAN].payload[IP]
            sink[0] += p[VXLAN].vni + inner_ip.id + inner_ip[UDP].sport
        return op

    def write(writer_class, ext, size):
        def measure(seconds):
            path = os.path.join(a.dir, "packetwalk-bench-scapy-%d.%s" % (os.getpid(), ext))
            frames = inner_bytes[size]
            w = writer_class(path, linktype=1) if writer_class is RawPcapWriter else writer_class(path)
            try:
                t0 = time.perf_counter()
                n = run_for(lambda i: w.write(frames[i % POOL]), seconds)
                w.close()  # the final flush is part of writing
                return n / (time.perf_counter() - t0)
            finally:
                try:
                    os.remove(path)
                except OSError:
                    pass
        return measure

    ops = {}
    for s in sizes:
        ops["encap-%d" % s] = encap(s)
        ops["build-%d" % s] = build(s)
        ops["dissect-%d" % s] = dissect(s)
        ops["pcap-write-%d" % s] = write(RawPcapWriter, "pcap", s)
        ops["pcapng-write-%d" % s] = write(RawPcapNgWriter, "pcapng", s)
    wanted = [k for k in a.only.split(",") if k] or sorted(ops)
    unknown = [k for k in wanted if k not in ops]
    if unknown:
        print(json.dumps({"error": "unknown keys: %s" % ",".join(unknown)}))
        return 2

    pps = {}
    for key in wanted:
        op = ops[key]
        if "-write-" in key:
            pps[key] = op(a.seconds)
        else:
            op(0)  # first call fills scapy's caches, as any real use would have done already
            pps[key] = per_second(op, a.seconds)
    print(json.dumps({
        "scapy": scapy.__version__,
        "python": platform.python_version(),
        "seconds": a.seconds,
        "pps": {k: round(v, 1) for k, v in pps.items()},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
