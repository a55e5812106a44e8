// How one Ingress path matches one request path, per pathType (networking.k8s.io/v1 HTTPIngressPath).

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** Exact: byte equality, case-sensitive. */
export function exactMatch(path: string, reqPath: string): boolean {
  return path === reqPath;
}

/**
 * Prefix: element-wise over '/'-separated labels, trailing slash ignored on both sides ("/aaa/bbb/" matches
 * "/aaa/bbb"; "/aaa" does not match "/aaaccc"), case-sensitive. "/" matches everything.
 */
export function prefixMatch(path: string, reqPath: string): boolean {
  const p = path.endsWith('/') ? path.slice(0, -1) : path;
  if (p === '') return true;
  if (!reqPath.startsWith(p)) return false;
  return reqPath.length === p.length || reqPath[p.length] === '/';
}

/**
 * ImplementationSpecific without regex, as ingress-nginx renders it: a plain nginx `location /path` block,
 * which is a byte-wise prefix ("/foo" matches "/foobar"; "/foo/" does not match "/foo").
 */
export function implementationSpecificMatch(path: string, reqPath: string): boolean {
  return reqPath.startsWith(path);
}

/**
 * The path nginx matches locations against ($uri): percent-decoded, slashes merged, "." and ".." resolved,
 * without the query. Returns undefined for a path that climbs above the root (nginx answers 400).
 */
export function normalizeRequestPath(rawPath: string): string | undefined {
  let decoded = rawPath;
  if (rawPath.includes('%')) {
    try {
      decoded = decodeURIComponent(rawPath);
    } catch {
      return undefined;
    }
  }
  if (!decoded.startsWith('/')) return undefined;
  if (!decoded.includes('//') && !decoded.includes('/.')) return decoded;
  const out: string[] = [];
  const parts = decoded.split('/');
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i];
    const last = i === parts.length - 1;
    if (seg === '' && !last) continue;
    if (seg === '.') {
      if (last) out.push('');
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return '/' + out.join('/');
}
