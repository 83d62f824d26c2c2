/**
 * Values a real cluster picks at run time that the emulator derives deterministically, each with its source.
 * All of them run once at load time (sha256 is fine there; nothing here is on a packet path).
 */

import { createHash } from 'node:crypto';
import type { Ipv4Address, MacAddress } from '../../codecs/bytes.js';

/** OUI of Microsoft, which Azure NICs use (00:0d:3a:xx:xx:xx); the built-in ARO cluster's node NICs carry it. */
export const AZURE_OUI = 0x000d3a;

/**
 * MAC Azure's virtual gateway answers ARP with for every address it owns (the subnet's .1): 12:34:56:78:9a:bc.
 * Also the default underlay gateway MAC.
 */
export const AZURE_GATEWAY_MAC: MacAddress = 0x123456789abc;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Pod eth0 MAC: 0a:58 followed by the four IPv4 address bytes. openshift-sdn's CNI plugin calls
 * `ip.SetHWAddrByIP` (= `hwaddr.GenerateHardwareAddr4(ip, 0a:58)`), e.g. 10.128.0.2 -> 0a:58:0a:80:00:02, and
 * table 20 checks ARP senders against it.
 */
export function podMac(ip: Ipv4Address): MacAddress {
  return 0x0a58 * 0x100000000 + (ip >>> 0);
}

/**
 * A unicast, locally administered MAC from a hash of `purpose/name`: byte 0 has bit 0 (group) clear and bit 1
 * (local) set. Used where the real system picks a random MAC: tun0 (OVS `mac_in_use`), macvlan0 (kernel), and the
 * NICs and external hosts of user clusters that give none.
 */
export function hashedMac(purpose: string, name: string): MacAddress {
  const d = digest(`${purpose}/${name}`);
  const b0 = (d[0]! & 0xfc) | 0x02;
  return b0 * 0x10000000000 + d.readUIntBE(1, 5);
}

/** An Azure-looking NIC MAC: the Microsoft OUI followed by three bytes hashed from the node name. */
export function azureNicMac(nodeName: string): MacAddress {
  return AZURE_OUI * 0x1000000 + digest(`nic/${nodeName}`).readUIntBE(0, 3);
}

/**
 * A UUID-shaped string hashed from `purpose/name`, for metadata.uid when a file gives none (the API server would
 * generate a random v4 UUID). Version nibble 8 ("custom", RFC 9562) and the RFC variant bits, so it reads as a UUID
 * but never claims to be random. Table 10 cookies are derived from HostSubnet uids, so this keeps them stable.
 */
export function hashedUid(purpose: string, name: string): string {
  const d = Buffer.from(digest(`${purpose}/${name}`).subarray(0, 16));
  d[6] = (d[6]! & 0x0f) | 0x80;
  d[8] = (d[8]! & 0x3f) | 0x80;
  const h = d.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
