// The reply a plugin chain produces, before the server adds the header, OPT and truncation.
import type { Answer } from 'dns-packet';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS' };

export interface DnsQuestion {
  /** As the client spelled it, without the trailing dot. */
  name: string;
  type: string;
  class: string;
}

export interface Reply {
  rcode: number;
  /** AA: set by authoritative plugins (kubernetes, hosts) and by answers served from cache. */
  aa: boolean;
  /** RA: copied from an upstream's reply; CoreDNS never sets it itself. */
  ra?: boolean;
  /** TC carried from an upstream lookup (ExternalName targets); the server adds its own when it truncates. */
  tc?: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** The plugin that wrote the reply (the `plugin` label of coredns_dns_responses_total). */
  plugin: string;
}

export function emptyReply(rcode: number, plugin = ''): Reply {
  return { rcode, aa: false, answers: [], authorities: [], additionals: [], plugin };
}
