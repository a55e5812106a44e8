// Certificates by SNI, as ingress-nginx chooses them: the server (host) the name selects, its Ingress tls entry,
// that entry's kubernetes.io/tls Secret in the Ingress's namespace — provided the certificate is valid for the
// name; otherwise the controller's default certificate ("Kubernetes Ingress Controller Fake Certificate").
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { generate } from 'selfsigned';
import type { KubeObject, Secret } from '../cluster/objects.ts';
import type { Store } from '../cluster/store.ts';
import { hostMatchesPattern, serverFor, type RoutingTable, type TLSRef } from './routes.ts';

export interface KeyPair {
  cert: string;
  key: string;
}

/** ingress-nginx's default certificate subject, so clients show the same name. */
export const FAKE_CERT_CN = 'Kubernetes Ingress Controller Fake Certificate';

export async function fakeCertificate(): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: FAKE_CERT_CN }, { name: 'organizationName', value: 'Acme Co' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'ingress.local' }] }],
  });
  return { cert: pems.cert, key: pems.private };
}

/** tls.crt and tls.key of a Secret, from data (base64) or stringData. */
export function secretKeyPair(s: Secret): KeyPair | undefined {
  const read = (k: string) => s.stringData?.[k] ?? (s.data?.[k] !== undefined ? Buffer.from(s.data[k], 'base64').toString('utf8') : undefined);
  const cert = read('tls.crt');
  const key = read('tls.key');
  return cert && key ? { cert, key } : undefined;
}

interface Loaded {
  resourceVersion: string | undefined;
  context?: SecureContext;
  x509?: X509Certificate;
  error?: string;
}

export class CertificateStore {
  private readonly cache = new Map<string, Loaded>();
  private readonly fallback: SecureContext;

  /** `log` hears why a tls Secret cannot be used, once per version of the Secret. */
  constructor(
    private readonly store: Store,
    private table: RoutingTable,
    fallback: KeyPair,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.fallback = createSecureContext(fallback);
  }

  setTable(t: RoutingTable): void {
    this.table = t;
  }

  /** The context for an SNI name (undefined or an address: the default certificate). */
  contextFor(servername: string | undefined): SecureContext {
    if (!servername) return this.fallback;
    const name = servername.toLowerCase();
    const server = serverFor(this.table, name);
    const refs = [server.tls, ...this.table.tls.filter((t) => t.hosts.some((h) => hostMatchesPattern(h, name)))];
    for (const ref of refs) {
      const loaded = ref && this.load(ref);
      if (loaded?.context && loaded.x509?.checkHost(name) !== undefined) return loaded.context;
    }
    return this.fallback;
  }

  private load(ref: TLSRef): Loaded | undefined {
    if (!ref.secretName) return undefined;
    const key = `${ref.namespace}/${ref.secretName}`;
    const s = this.store.get<Secret & KubeObject>('Secret', ref.namespace, ref.secretName);
    if (!s) return undefined;
    const cached = this.cache.get(key);
    if (cached && cached.resourceVersion === s.metadata.resourceVersion) return cached;
    const loaded: Loaded = { resourceVersion: s.metadata.resourceVersion };
    const pair = secretKeyPair(s);
    if (s.type !== undefined && s.type !== 'kubernetes.io/tls' && s.type !== 'Opaque') loaded.error = `type ${s.type} is not kubernetes.io/tls`;
    else if (!pair) loaded.error = 'has no tls.crt and tls.key';
    else {
      try {
        loaded.context = createSecureContext(pair);
        loaded.x509 = new X509Certificate(pair.cert);
      } catch (e) {
        loaded.error = `does not hold a usable certificate and key: ${(e as Error).message}`;
      }
    }
    if (loaded.error) this.log(`Secret ${key}: ${loaded.error}; using the default certificate`);
    this.cache.set(key, loaded);
    return loaded;
  }
}
