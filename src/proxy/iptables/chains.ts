// Chain names (pkg/proxy/iptables/proxier.go): the first 16 characters of base32(sha256(...)), because
// iptables chain names are at most 28 characters.
import { hash } from 'node:crypto';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';
/** kubelet's chain with the anti-martian rule; kube-proxy writes a duplicate. */
export const KUBE_FIREWALL = 'KUBE-FIREWALL';

export const SVC_PREFIX = 'KUBE-SVC-';
export const SVL_PREFIX = 'KUBE-SVL-';
export const FW_PREFIX = 'KUBE-FW-';
export const EXT_PREFIX = 'KUBE-EXT-';
export const SEP_PREFIX = 'KUBE-SEP-';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** base32.StdEncoding of the first 10 bytes: exactly the 16 characters kube-proxy keeps. */
function hash16(text: string): string {
  const d = hash('sha256', text, 'buffer');
  let out = '';
  for (let i = 0; i < 10; i += 5) {
    // 5 bytes = 40 bits = 8 characters; split in two 20-bit halves to stay in small-integer arithmetic.
    const hi = (d[i] << 12) | (d[i + 1] << 4) | (d[i + 2] >> 4);
    const lo = ((d[i + 2] & 0x0f) << 16) | (d[i + 3] << 8) | d[i + 4];
    out += ALPHABET[hi >> 15] + ALPHABET[(hi >> 10) & 31] + ALPHABET[(hi >> 5) & 31] + ALPHABET[hi & 31];
    out += ALPHABET[lo >> 15] + ALPHABET[(lo >> 10) & 31] + ALPHABET[(lo >> 5) & 31] + ALPHABET[lo & 31];
  }
  return out;
}

/** portProtoHash(servicePortName, protocol): shared by a port's SVC, SVL, EXT and FW chains. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return hash16(servicePortName + protocol);
}

export function servicePortEndpointChainName(servicePortName: string, protocol: string, endpoint: string): string {
  return SEP_PREFIX + hash16(servicePortName + protocol + endpoint);
}

export function isServiceChainName(chain: string): boolean {
  return chain.startsWith(SVC_PREFIX) || chain.startsWith(SVL_PREFIX) || chain.startsWith(SEP_PREFIX) || chain.startsWith(FW_PREFIX) || chain.startsWith(EXT_PREFIX);
}
