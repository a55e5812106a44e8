// Which Ingresses this controller serves. kdp stands in for ingress-nginx, so it claims what ingress-nginx
// would (IngressClass controller `k8s.io/ingress-nginx`, the class `nginx`) as well as its own controller name.
import type { Ingress, IngressClass, KubeObject } from '../cluster/objects.ts';

export const CONTROLLER_NAMES: readonly string[] = ['kdp.dev/ingress', 'k8s.io/ingress-nginx'];
/** The class ingress-nginx answers to (--ingress-class) when no IngressClass object names it. */
export const DEFAULT_CLASS_NAME = 'nginx';
const CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

/** The class an Ingress asks for: spec.ingressClassName, else the deprecated annotation (which the API still honours). */
export function requestedClass(ing: Ingress): string | undefined {
  return ing.spec?.ingressClassName ?? ing.metadata?.annotations?.[CLASS_ANNOTATION] ?? undefined;
}

/**
 * True when kdp serves this Ingress. A class-less Ingress is claimed, unless a default IngressClass exists
 * (admission would have stamped that class on it) and belongs to another controller.
 */
export function claims(ing: Ingress, classes: readonly (IngressClass & KubeObject)[]): boolean {
  const ours = (c: IngressClass) => CONTROLLER_NAMES.includes(c.spec?.controller ?? '');
  const name = requestedClass(ing);
  if (name === undefined || name === '') {
    const defaults = classes.filter((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
    return defaults.length === 0 || defaults.some(ours);
  }
  const cls = classes.find((c) => c.metadata.name === name);
  return cls ? ours(cls) : name === DEFAULT_CLASS_NAME;
}
