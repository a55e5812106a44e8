// Older manifests still in circulation: extensions/v1beta1 and networking.k8s.io/v1beta1 Ingresses carry
// serviceName/servicePort backends. The apiserver converts them to v1 on read; so does kdp, on load.

type Obj = Record<string, unknown>;

function backend(b: unknown): unknown {
  if (!b || typeof b !== 'object') return b;
  const { serviceName, servicePort, resource } = b as Obj;
  if (resource) return { resource };
  const port = typeof servicePort === 'number' ? { number: servicePort } : typeof servicePort === 'string' && /^\d+$/.test(servicePort) ? { number: Number(servicePort) } : { name: servicePort };
  return { service: { name: serviceName, port } };
}

export function upgradeLegacyIngress(o: Obj): Obj {
  const spec = (o.spec ?? {}) as Obj;
  const rules = Array.isArray(spec.rules) ? spec.rules : undefined;
  const { backend: defaultBackend, ...rest } = spec;
  return {
    ...o,
    apiVersion: 'networking.k8s.io/v1',
    spec: {
      ...rest,
      ...(defaultBackend ? { defaultBackend: backend(defaultBackend) } : {}),
      ...(rules ? {
        rules: rules.map((r: Obj) => {
          const http = r?.http as Obj | undefined;
          if (!http || !Array.isArray(http.paths)) return r;
          return {
            ...r,
            http: { ...http, paths: http.paths.map((p: Obj) => ({ ...p, pathType: p?.pathType ?? 'ImplementationSpecific', backend: backend(p?.backend) })) },
          };
        }),
      } : {}),
    },
  };
}
