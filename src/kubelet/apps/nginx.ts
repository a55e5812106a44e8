// The nginx image's default server (/etc/nginx/conf.d/default.conf): root /usr/share/nginx/html with the
// packaged welcome page and 50x.html; everything else nginx's own 404 page (ngx_http_special_response.c), all
// with "Server: nginx/VERSION". GET and HEAD serve files (304 for a matching If-None-Match or
// If-Modified-Since); POST on a file is 405; other methods are 405.
import { header, splitTarget, type App, type AppRequest, type AppResponse } from './app.ts';

/** nginx:latest (mainline) when the image's tag names no version. */
export const NGINX_DEFAULT_VERSION = '1.29.0';

export const WELCOME_PAGE = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;

export const ERROR_50X_PAGE = `<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
`;

const REASON: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Not Allowed' };

/** The files' modification time in the image (what Last-Modified and the ETag say). */
const FILE_MTIME = new Date('2025-06-24T18:00:00Z');

/** The nginx version an image reference runs: its tag when the tag is a version, else mainline. */
export function nginxVersion(image: string): string {
  const tag = /:([^:/@]+)(@.*)?$/.exec(image)?.[1] ?? '';
  const v = /^(\d+\.\d+\.\d+)/.exec(tag)?.[1];
  return v ?? NGINX_DEFAULT_VERSION;
}

/** ngx_http_parse_complex_uri's effect on the path: %XX decoded, // merged, . and .. resolved. */
function normalize(path: string): string | undefined {
  let p: string;
  try {
    p = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  const out: string[] = [];
  for (const seg of p.split('/').slice(1)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (!out.length) return undefined;
      out.pop();
    } else out.push(seg);
  }
  return `/${out.join('/')}${p.endsWith('/') && out.length ? '/' : ''}`;
}

export class Nginx implements App {
  readonly name = 'nginx';
  private readonly server: string;
  private readonly files: Map<string, Buffer>;

  constructor(version = NGINX_DEFAULT_VERSION) {
    this.server = `nginx/${version}`;
    const welcome = Buffer.from(WELCOME_PAGE);
    this.files = new Map([['/index.html', welcome], ['/50x.html', Buffer.from(ERROR_50X_PAGE)]]);
  }

  handle(req: AppRequest): AppResponse {
    const path = normalize(splitTarget(req.url).path);
    // HTTP/1.1 without Host is a client error (ngx_http_process_request_header).
    if (path === undefined || (req.httpVersion === '1.1' && header(req, 'host') === undefined)) return this.error(req, 400);
    // The index module: a directory URI is its index.html.
    const file = path === '/' ? '/index.html' : path;
    const body = this.files.get(file);
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') return this.error(req, 405);
    if (!body) return this.error(req, 404);
    if (req.method === 'POST') return this.error(req, 405);
    const mtime = Math.floor(FILE_MTIME.getTime() / 1000);
    const etag = `"${mtime.toString(16)}-${body.length.toString(16)}"`;
    // ngx_http_not_modified_filter: If-None-Match, else an exact If-Modified-Since.
    const inm = header(req, 'if-none-match');
    const ims = header(req, 'if-modified-since');
    const notModified = inm !== undefined ? inm.split(',').map((t) => t.trim()).some((t) => t === '*' || t === etag || t === `W/${etag}`) : ims === FILE_MTIME.toUTCString();
    if (notModified) {
      return {
        status: 304,
        headers: [['Server', this.server], ['Date', req.now.toUTCString()], ['Last-Modified', FILE_MTIME.toUTCString()], ['Connection', 'keep-alive'], ['ETag', etag]],
        body: '',
      };
    }
    return {
      status: 200,
      headers: [
        ['Server', this.server],
        ['Date', req.now.toUTCString()],
        ['Content-Type', 'text/html'],
        ['Content-Length', String(body.length)],
        ['Last-Modified', FILE_MTIME.toUTCString()],
        ['Connection', 'keep-alive'],
        ['ETag', etag],
        ['Accept-Ranges', 'bytes'],
      ],
      body,
    };
  }

  /** nginx's built-in error page: status line, title and the version in the tail, CRLF lines. */
  badRequest(now: Date): string {
    const page = this.errorPage(400);
    return `HTTP/1.1 400 Bad Request\r\nServer: ${this.server}\r\nDate: ${now.toUTCString()}\r\nContent-Type: text/html\r\nContent-Length: ${page.length}\r\nConnection: close\r\n\r\n${page}`;
  }

  private errorPage(status: number): string {
    const title = `${status} ${REASON[status]}`;
    return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>${this.server}</center>\r\n</body>\r\n</html>\r\n`;
  }

  private error(req: AppRequest, status: number): AppResponse {
    const body = Buffer.from(this.errorPage(status));
    return {
      status,
      headers: [
        ['Server', this.server],
        ['Date', req.now.toUTCString()],
        ['Content-Type', 'text/html'],
        ['Content-Length', String(body.length)],
        // nginx closes the connection after a 400.
        ['Connection', status === 400 ? 'close' : 'keep-alive'],
      ],
      body,
    };
  }
}
