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
    return enc.encode(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
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

/** The request a client sends to a port: an HTTP GET for web ports, a short query otherwise. */
export function clientRequest(host: string, port: number): Uint8Array {
  if (port === 80 || port === 443 || port === 8080 || port === 30039) {
    return enc.encode(`GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: packetwalk\r\nAccept: */*\r\n\r\n`);
  }
  return enc.encode(`SELECT @@VERSION; -- packetwalk to ${host}:${port}\n`);
}

/** Pick the app for a listening port. */
export function appFor(serverName: string, port: number): ServerApp {
  return port === 80 || port === 443 || port === 8080 ? httpServer(serverName) : echoServer(serverName);
}
