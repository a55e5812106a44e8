// hashicorp/http-echo (main.go, handlers.go): -text on every path with -status-code, /health with
// {"status":"ok"}, both with X-App-Name and X-App-Version (the release the image ships: 1.0.0).
import { splitTarget, type App, type AppRequest, type AppResponse } from './app.ts';
import { goResponse, GO_BAD_REQUEST } from './gohttp.ts';

export const HTTP_ECHO_VERSION = '1.0.0';

export class HttpEcho implements App {
  badRequest(): string {
    return GO_BAD_REQUEST;
  }

  readonly name = 'http-echo';
  constructor(private readonly text: string, private readonly statusCode = 200) {}

  handle(req: AppRequest): AppResponse {
    const headers: [string, string][] = [['X-App-Name', 'http-echo'], ['X-App-Version', HTTP_ECHO_VERSION]];
    if (splitTarget(req.url).path === '/health') return goResponse({ headers, body: '{"status":"ok"}\n', now: req.now });
    return goResponse({ status: this.statusCode, headers, body: `${this.text}\n`, now: req.now });
  }
}
