/**
 * The applications the built-in pods and the external host run: small servers that answer one request with a
 * plausible response, so a walk carries real payload bytes both ways. Simplified: the SQL Server port speaks
 * a fixed byte string, not TDS.
 */

import type { ServerApp } from './sockets.js';

const enc = new TextEncoder();

/** An HTTP server answering every request with 200 and a short body naming the server. */
export function httpServer(serverName: string): ServerApp {
  return () => {
    const body = `{"server":"${serverName}","status":"ok"}\n`;
    return enc.encode(
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  };
}

/** Any other TCP/UDP port: echo the request back prefixed with the server's name. */
export function echoServer(serverName: string): ServerApp {
  return (req) => {
    const prefix = enc.encode(`${serverName}: `);
    const out = new Uint8Array(prefix.length + req.length);
    out.set(prefix);
    out.set(req, prefix.length);
    return out;
  };
}

function u16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function u24(n: number): number[] {
  return [(n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** 32 fixed "random" bytes (a reproducible run has no randomness of its own here). */
function helloRandom(tag: number): number[] {
  return Array.from({ length: 32 }, (_, i) => (tag * 31 + i * 7) & 0xff);
}

/** A TLS 1.2 record carrying one handshake message. */
function tlsHandshake(type: number, body: number[], recordVersion: number): Uint8Array {
  const hs = [type, ...u24(body.length), ...body];
  return Uint8Array.from([0x16, ...u16(recordVersion), ...u16(hs.length), ...hs]);
}

/**
 * A well-formed TLS 1.2 ClientHello with SNI, so port 443 carries what Wireshark expects there (the handshake
 * stops after the ServerHello: no keys are exchanged).
 */
export function tlsClientHello(serverName: string): Uint8Array {
  const name = Array.from(enc.encode(serverName));
  const sni = [...u16(name.length + 3), 0, ...u16(name.length), ...name];
  const extensions = [0x00, 0x00, ...u16(sni.length), ...sni];
  const body = [
    0x03,
    0x03,
    ...helloRandom(1),
    0,
    ...u16(2),
    0xc0,
    0x2f,
    1,
    0,
    ...u16(extensions.length),
    ...extensions,
  ];
  return tlsHandshake(1, body, 0x0301);
}

/** The matching ServerHello (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, no extensions). */
export function tlsServerHello(): Uint8Array {
  const body = [0x03, 0x03, ...helloRandom(2), 0, 0xc0, 0x2f, 0, ...u16(0)];
  return tlsHandshake(2, body, 0x0303);
}

/** The request a client sends to a port: a TLS ClientHello to 443, an HTTP GET to web ports, a short query otherwise. */
export function clientRequest(host: string, port: number): Uint8Array {
  if (port === 443) return tlsClientHello(host.split(' ')[0]!.replace(/^svc\//, ''));
  if (port === 80 || port === 8080 || port === 30039) {
    return enc.encode(`GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: packetwalk\r\nAccept: */*\r\n\r\n`);
  }
  return enc.encode(`SELECT @@VERSION; -- packetwalk to ${host}:${port}\n`);
}

/** Pick the app for a listening port. */
export function appFor(serverName: string, port: number): ServerApp {
  if (port === 443 || port === 6443) return () => tlsServerHello(); // HTTPS and the API server
  return port === 80 || port === 8080 ? httpServer(serverName) : echoServer(serverName);
}
