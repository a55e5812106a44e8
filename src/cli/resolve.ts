// Names as a pod looks them up, for the verbs that take one (trace, curl): the pod's resolver over the data
// plane, its first IPv4 address, and the person told which name answered.
import { readFileSync } from 'node:fs';
import type { KubeObject, Pod } from '../cluster/objects.ts';
import type { DataPlane } from '../dataplane/dataplane.ts';
import { NoDnsReply, podDns } from '../dataplane/dns.ts';
import { RCODE_NAMES } from '../dns/message.ts';
import { resolveFromPod } from '../dns/resolver.ts';
import { UserError, type IO } from './io.ts';

/** The node's /etc/resolv.conf: the machine kdp runs on stands for every node. */
export function nodeResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** `name` as `pod`'s resolver finds it: its first A record. */
export async function resolveName(dp: DataPlane, pod: Pod & KubeObject, name: string, io: IO): Promise<string> {
  const who = `${pod.metadata.namespace}/${pod.metadata.name}`;
  const dns = podDns(dp, pod, nodeResolvConf());
  if (!dns) throw new UserError(`${name}: ${who} is not running: it has no resolver to ask`);
  try {
    const r = await resolveFromPod(dns.conf, name, 'A', dns.transport);
    const a = r.final.reply.answers.find((x) => x.type === 'A') as { data: string } | undefined;
    if (!a) throw new UserError(`--to ${name}: ${who}'s resolver found no address (${RCODE_NAMES[r.final.reply.rcode] ?? r.final.reply.rcode} for ${r.final.question.name})`);
    io.stderr(`kdp: ${name} is ${a.data} (${r.final.question.name}, as ${who}'s resolver looked it up)\n`);
    return a.data;
  } catch (e) {
    if (e instanceof NoDnsReply) throw new UserError(`--to ${name}: no DNS reply for ${who}: ${e.message}`);
    throw e;
  } finally {
    dns.close();
  }
}
