// Whether a request goes to a location's canary: ingress-nginx's balancer.lua route_to_alternative_balancer.
// Header first (a value, or "always"/"never"), then cookie ("always"/"never"), then weight.
import type { Canary } from './routes.ts';

export interface CanaryRequest {
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
}

/** `random()` is uniform in [0, 1), injected so tests can pin it. */
export function useCanary(c: Canary, req: CanaryRequest, random: () => number = Math.random): boolean {
  const p = c.policy;
  if (p.header) {
    const v = req.header(p.header);
    if (v !== undefined) {
      if (p.headerValue) {
        if (v === p.headerValue) return true;
      } else if (v === 'always') return true;
      else if (v === 'never') return false;
    }
  }
  if (p.cookie) {
    const v = req.cookie(p.cookie);
    if (v === 'always') return true;
    if (v === 'never') return false;
  }
  // math.random(total) <= weight, with math.random(n) uniform over 1..n.
  return p.weight > 0 && Math.floor(random() * p.weightTotal) + 1 <= p.weight;
}

/** One cookie's value from a Cookie header ("a=1; b=2"). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
