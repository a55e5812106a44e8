// Which app a container runs and which TCP ports it listens on, decided from the pod spec the way the image
// would behave: the image and its arguments (agnhost netexec --http-port, http-echo -listen, whoami --port,
// nginx on 80), overridden by the kdp.dev/app annotation. Pure: the runtime and the network model share it,
// so what `kdp trace` says is listening is what a real connection finds.
import type { Container, KubeObject, Pod } from '../../cluster/objects.ts';
import type { App, PodDialer, PodIdentity } from './app.ts';
import { Echo } from './echo.ts';
import { Netexec, ServeHostname } from './agnhost.ts';
import { HttpEcho } from './httpecho.ts';
import { Whoami } from './whoami.ts';
import { Nginx, nginxVersion } from './nginx.ts';

export const APP_ANNOTATION = 'kdp.dev/app';
export const DELAY_ANNOTATION = 'kdp.dev/delay-ms';
export const UPSTREAM_ANNOTATION_PREFIX = 'kdp.dev/upstream.';
export const APP_NAMES = ['echo', 'agnhost', 'whoami', 'http-echo', 'nginx', 'none'] as const;
export type AppName = (typeof APP_NAMES)[number];

export interface ContainerPlan {
  container: string;
  /**
   * "external": a kdp add-on serves this image itself (CoreDNS is src/dns, the ingress-nginx controller
   * src/ingress), so no listener is run here and its probes are the add-on's business (taken as passing).
   */
  app: AppName | 'external';
  /** The TCP ports the container's process listens on. */
  ports: number[];
  /** Builds the app for one running instance of the container (a restart builds a fresh one). */
  make?: (id: PodIdentity, dial: PodDialer) => App;
  /** The process exits as soon as it starts (a missing flag), with this code and message. */
  fails?: { code: number; message: string };
  /** What runs, for people: "agnhost netexec", "nginx/1.29.0". */
  describe: string;
}

export interface Upstream {
  host: string;
  port: number;
  text: string;
}

export interface PodPlan {
  containers: ContainerPlan[];
  /** containerPort -> the user's own process that port's connections are relayed to. */
  upstreams: Map<number, Upstream>;
  /** kdp.dev/delay-ms: every answer waits this long. */
  delayMs: number;
  /** Bad annotations, each with the field path it is at. */
  problems: { path: (string | number)[]; message: string }[];
}

/** "registry.k8s.io/e2e-test-images/agnhost:2.52" -> "e2e-test-images/agnhost" (registry and tag dropped). */
export function imageRepository(image: string): string {
  let ref = image.split('@')[0];
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) ref = ref.slice(0, colon);
  const parts = ref.split('/');
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) parts.shift();
  if (parts[0] === 'library' && parts.length === 2) parts.shift();
  return parts.join('/');
}

/** Which app an image is, before any annotation. */
function imageApp(image: string): AppName | 'external' | undefined {
  const repo = imageRepository(image);
  const last = repo.split('/').pop() ?? '';
  if (last === 'agnhost') return 'agnhost';
  if (repo === 'hashicorp/http-echo') return 'http-echo';
  if (repo === 'traefik/whoami' || repo === 'containous/whoami') return 'whoami';
  if (repo === 'nginx' || repo === 'nginxinc/nginx-unprivileged') return 'nginx';
  // CoreDNS is src/dns; the ingress-nginx controller is src/ingress.
  if (last === 'coredns' || repo === 'ingress-nginx/controller') return 'external';
  if (last === 'pause') return 'none';
  return undefined;
}

/**
 * A Go flag's value from argv: -name=v, --name=v, -name v, --name v (flag and pflag both take these).
 * Boolean-looking lone flags are not values.
 */
function flag(argv: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m || m[1] !== name) continue;
    if (m[2] !== undefined) value = m[2];
    else if (i + 1 < argv.length) value = argv[++i];
  }
  return value;
}

function env(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

const portOf = (v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v.slice(v.lastIndexOf(':') + 1));
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
};

function declaredTCP(c: Container): number[] {
  return (c.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort);
}

/** What one container runs. `override` is the annotation's app; without it the image decides. */
export function planContainer(c: Container, override: AppName | undefined): ContainerPlan {
  const image = c.image ?? '';
  const fromImage = imageApp(image);
  const app = override ?? fromImage ?? 'echo';
  // An app named by the annotation answers on the declared ports unless its arguments name one.
  const declared = declaredTCP(c);
  const ports = (given: number | undefined, own: number) => (given !== undefined ? [given] : override ? declared : [own]);
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  if (/(^|\/)agnhost$/.test(argv[0] ?? '')) argv.shift();
  const base = { container: c.name };
  switch (app) {
    case 'echo':
      return { ...base, app, ports: declared, make: (id) => new Echo(id), describe: 'echo' };
    case 'none':
      return { ...base, app, ports: [], describe: fromImage === 'none' && !override ? imageRepository(image) : 'none' };
    case 'external':
      return { ...base, app, ports: declared, describe: `${imageRepository(image)} (served by kdp's add-on)` };
    case 'agnhost': {
      const sub = argv[0];
      if (sub === 'netexec' || (override && sub === undefined)) {
        const udp = Number(flag(argv, 'udp-port') ?? 8081);
        const httpOverride = flag(argv, 'http-override');
        return { ...base, app, ports: ports(portOf(flag(argv, 'http-port')), 8080), make: (id, dial) => new Netexec(id, { udpPort: udp, httpOverride, dial }), describe: 'agnhost netexec' };
      }
      if (sub === 'serve-hostname') {
        return { ...base, app, ports: ports(portOf(flag(argv, 'port')), 9376), make: (id) => new ServeHostname(id), describe: 'agnhost serve-hostname' };
      }
      // pause, dns-server, ... serve no HTTP here.
      return { ...base, app: 'none', ports: [], describe: `agnhost ${sub ?? '(no subcommand)'}` };
    }
    case 'http-echo': {
      const text = flag(argv, 'text') || env(c, 'ECHO_TEXT') || '';
      const status = Number(flag(argv, 'status-code') ?? 200);
      const plan: ContainerPlan = { ...base, app, ports: ports(portOf(flag(argv, 'listen')), 5678), make: () => new HttpEcho(text, status), describe: 'http-echo' };
      return text ? plan : { ...plan, make: undefined, fails: { code: 127, message: 'Missing -text option or ECHO_TEXT env var!' } };
    }
    case 'whoami': {
      const port = portOf(flag(argv, 'port') ?? env(c, 'WHOAMI_PORT_NUMBER'));
      const name = flag(argv, 'name') ?? env(c, 'WHOAMI_NAME') ?? '';
      return { ...base, app, ports: ports(port, 80), make: (id) => new Whoami(id, name), describe: 'whoami' };
    }
    case 'nginx': {
      const version = nginxVersion(image);
      const own = imageRepository(image) === 'nginxinc/nginx-unprivileged' ? 8080 : 80;
      return { ...base, app, ports: ports(undefined, own), make: () => new Nginx(version), describe: `nginx/${version}` };
    }
  }
}

/** "http://127.0.0.1:3000", "tcp://localhost:5432" or "127.0.0.1:3000" -> host and port. */
export function parseUpstream(text: string): Upstream | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `tcp://${text}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    return undefined;
  }
  const port = u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : u.protocol === 'https:' ? 443 : undefined;
  if (!u.hostname || !port) return undefined;
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port, text };
}

/** spec -> annotations -> plan: a template's pods share both objects (objects are immutable values). */
const plans = new WeakMap<object, WeakMap<object, PodPlan>>();
const NO_SPEC = {};
const NO_ANNOTATIONS = {};

/** The plan for a pod; computed once for all the pods of a template. */
export function planPod(pod: Pod & KubeObject): PodPlan {
  const specKey = pod.spec ?? NO_SPEC;
  const annKey = pod.metadata.annotations ?? NO_ANNOTATIONS;
  let bySpec = plans.get(specKey);
  if (!bySpec) plans.set(specKey, (bySpec = new WeakMap()));
  const cached = bySpec.get(annKey);
  if (cached) return cached;
  const containers = pod.spec?.containers ?? [];
  const ann: Record<string, string> = pod.metadata.annotations ?? {};
  const problems: PodPlan['problems'] = [];
  let override: AppName | undefined;
  const a = ann[APP_ANNOTATION];
  if (a !== undefined) {
    if ((APP_NAMES as readonly string[]).includes(a)) override = a as AppName;
    else problems.push({ path: ['metadata', 'annotations', APP_ANNOTATION], message: `Unsupported value: "${a}": supported values: ${APP_NAMES.map((n) => `"${n}"`).join(', ')}` });
  }
  let delayMs = 0;
  const d = ann[DELAY_ANNOTATION];
  if (d !== undefined) {
    if (/^\d+$/.test(d.trim())) delayMs = Number(d.trim());
    else problems.push({ path: ['metadata', 'annotations', DELAY_ANNOTATION], message: `Invalid value: "${d}": must be a whole number of milliseconds` });
  }
  const upstreams = new Map<number, Upstream>();
  for (const [k, v] of Object.entries(ann)) {
    if (!k.startsWith(UPSTREAM_ANNOTATION_PREFIX)) continue;
    const port = Number(k.slice(UPSTREAM_ANNOTATION_PREFIX.length));
    const up = parseUpstream(v);
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push({ path: ['metadata', 'annotations', k], message: `Invalid value: "${k}": must be ${UPSTREAM_ANNOTATION_PREFIX}<containerPort>` });
    else if (!up) problems.push({ path: ['metadata', 'annotations', k], message: `Invalid value: "${v}": must be a URL with a host and port, e.g. http://127.0.0.1:3000` });
    else upstreams.set(port, up);
  }
  const plan: PodPlan = { containers: containers.map((c) => planContainer(c, override)), upstreams, delayMs, problems };
  bySpec.set(annKey, plan);
  return plan;
}
