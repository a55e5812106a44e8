// Real requests to pods' listeners, through the registry the data plane uses.
import http from 'node:http';
import net from 'node:net';
import type { ListenerRegistry } from '../../src/kubelet/runtime.ts';

export interface Answer {
  status: number;
  headers: string[];
  body: string;
}

export const CLIENT = { ip: '10.244.0.9', port: 45678 };

/** A GET (or another method) over registry.connect, as the data plane would carry it. */
export function request(reg: ListenerRegistry, ip: string, port: number, path: string, o: { method?: string; client?: { ip: string; port: number }; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: ip, port, path, method: o.method ?? 'GET', headers: o.headers, createConnection: () => reg.connect(ip, port, o.client ?? CLIENT) }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.rawHeaders, body }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(o.body);
  });
}

/** Connects and resolves with the outcome: "connected" or the error code. */
export function tcpOutcome(sock: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    sock.once('connect', () => {
      sock.destroy();
      resolve('connected');
    });
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}
