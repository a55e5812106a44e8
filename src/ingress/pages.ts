// The answers the controller gives itself, with nginx's default error page bodies.
import { STATUS_CODES } from 'node:http';

export function errorPage(status: number): string {
  const title = `${status} ${STATUS_CODES[status] ?? ''}`.trim();
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

/** A whole HTTP/1.1 response for a socket that has no ServerResponse (a refused WebSocket upgrade). */
export function rawResponse(status: number, extra: Record<string, string> = {}): string {
  const body = errorPage(status);
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'Server: nginx', `Date: ${new Date().toUTCString()}`, 'Content-Type: text/html', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
  for (const [k, v] of Object.entries(extra)) head.push(`${k}: ${v}`);
  return head.join('\r\n') + '\r\n\r\n' + body;
}
