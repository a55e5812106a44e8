// Upstream's test cases as data: each YAML file under test/proxy/cases holds one test's Services,
// EndpointSlices, fake-proxier settings and the iptables-restore text it expects, step by step.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { EndpointSlice, Service } from '../../../src/cluster/objects.ts';
import { IPTablesProxier, type IPTablesSettings } from '../../../src/proxy/iptables/proxier.ts';
import { servicePorts } from '../../../src/proxy/serviceport.ts';
import { endpointsByServicePort } from '../../../src/proxy/endpoints.ts';
import { NO_OP_DETECTOR, detectLocalByCIDR, detectLocalByBridgeInterface, detectLocalByInterfaceNamePrefix } from '../../../src/proxy/localdetector.ts';
import type { Family } from '../../../src/proxy/ip.ts';

export type Era = 'current' | 'v1.28';

/** NewFakeProxier's settings: kubernetes/kubernetes proxier_test.go (current) and danwinship helpers_test.go (v1.28). */
export function fakeProxierSettings(era: Era, family: Family): IPTablesSettings {
  const current = era === 'current';
  const podCIDR = family === 'IPv4' ? '10.0.0.0/8' : current ? 'fd00:10::/64' : 'fd00::/64';
  const eth0 = ['192.168.0.2', '192.168.1.2', '192.168.99.11', '2001:db8::1', ...(current ? ['2001:db8:1::2'] : [])];
  return {
    ipFamily: family,
    nodeName: current ? 'test-node' : 'test-hostname',
    nodeIP: '192.168.0.2',
    nodeLabels: {},
    masqueradeMark: '0x4000',
    masqueradeAll: false,
    localhostNodePorts: true,
    localDetector: detectLocalByCIDR(podCIDR),
    nodePortAddresses: [],
    localAddresses: ['127.0.0.1', '::1', ...eth0],
    // iptablestest.NewFake(): no --random-fully; the fake sysctl leaves tcp_be_liberal at 0.
    randomFully: false,
    nfacct: current,
    conntrackTCPBeLiberal: false,
  };
}

interface ServiceDoc {
  namespace: string;
  name: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  spec?: Service['spec'];
  status?: Service['status'];
}

interface SliceDoc {
  namespace: string;
  /** The service the slice belongs to. */
  service: string;
  /** makeTestEndpointSlice's sliceNum: the slice is named "<service>-<n>". */
  slice?: number;
  addressType?: string;
  endpoints?: EndpointSlice['endpoints'];
  ports?: EndpointSlice['ports'];
  labels?: Record<string, string>;
}

export interface Step {
  services?: ServiceDoc[];
  endpointSlices?: SliceDoc[];
  deleteServices?: string[];
  deleteEndpointSlices?: string[];
  /** Settings changed before this step (e.g. the node's labels), forcing a full sync as kube-proxy does. */
  proxier?: ProxierOverrides;
  /** The caller's iptables-restore of this step's text fails (its text is not compared). */
  restoreFails?: boolean;
  expected?: string;
}

export interface ProxierOverrides {
  masqueradeAll?: boolean;
  localhostNodePorts?: boolean;
  nodePortAddresses?: string[];
  /** "none", "cidr:<CIDR>", "bridge:<iface>", "prefix:<prefix>" */
  localDetector?: string;
  nodeIP?: string;
  nodeLabels?: Record<string, string>;
  nfacct?: boolean;
  randomFully?: boolean;
  conntrackTCPBeLiberal?: boolean;
  masqueradeMark?: string;
}

export interface Case {
  file: string;
  test: string;
  source: string;
  era: Era;
  family: Family;
  proxier?: ProxierOverrides;
  steps: Step[];
}

const CASES = join(import.meta.dirname, '..', 'cases');

export function loadCases(): Case[] {
  return readdirSync(CASES).filter((f) => f.endsWith('.yaml')).sort().map((f) => {
    const doc = parse(readFileSync(join(CASES, f), 'utf8')) as Partial<Case> & Step;
    if (!doc.test || !doc.source || !doc.era) throw new Error(`${f}: test, source and era are required`);
    const steps = doc.steps ?? [{ services: doc.services, endpointSlices: doc.endpointSlices, expected: doc.expected }];
    steps.forEach((s, i) => {
      if (typeof s.expected !== 'string' && !s.restoreFails) throw new Error(`${f}: steps[${i}].expected is required`);
    });
    return { file: f, test: doc.test, source: doc.source, era: doc.era, family: doc.family ?? 'IPv4', proxier: doc.proxier, steps };
  });
}

export function applyOverrides(s: IPTablesSettings, o: ProxierOverrides | undefined): IPTablesSettings {
  if (!o) return s;
  const out = { ...s };
  for (const k of ['masqueradeAll', 'localhostNodePorts', 'nodePortAddresses', 'nodeIP', 'nodeLabels', 'nfacct', 'randomFully', 'conntrackTCPBeLiberal', 'masqueradeMark'] as const) {
    if (o[k] !== undefined) (out as Record<string, unknown>)[k] = o[k];
  }
  if (o.localDetector !== undefined) {
    const [kind, arg] = o.localDetector.split(/:(.*)/);
    out.localDetector = kind === 'none' ? NO_OP_DETECTOR
      : kind === 'cidr' ? detectLocalByCIDR(arg)
      : kind === 'bridge' ? detectLocalByBridgeInterface(arg)
      : detectLocalByInterfaceNamePrefix(arg);
  }
  return out;
}

export function serviceObject(d: ServiceDoc): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: d.namespace, name: d.name, annotations: d.annotations, labels: d.labels },
    spec: d.spec ?? {},
    status: d.status ?? {},
  };
}

export function sliceObject(d: SliceDoc): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      namespace: d.namespace,
      name: `${d.service}-${d.slice ?? 1}`,
      labels: { 'kubernetes.io/service-name': d.service, ...(d.labels ?? {}) },
    },
    addressType: d.addressType ?? 'IPv4',
    endpoints: d.endpoints ?? [],
    ports: d.ports ?? [],
  };
}

/** Runs a case: each step's changes go into one proxier, whose sync output is returned per step. */
export function runCase(c: Case): string[] {
  let settings = applyOverrides(fakeProxierSettings(c.era, c.family), c.proxier);
  let proxier = new IPTablesProxier(settings);
  const services = new Map<string, Service>();
  const slices = new Map<string, EndpointSlice>();
  const outputs: string[] = [];
  for (const step of c.steps) {
    if (step.proxier) {
      // A settings change is a restart (or a topology change): everything is re-synced.
      settings = applyOverrides(settings, step.proxier);
      const fresh = new IPTablesProxier(settings);
      for (const [nn, svc] of services) fresh.setService(nn, servicePorts(svc, settings.ipFamily));
      for (const nn of new Set([...slices.values()].map((s) => `${s.metadata!.namespace}/${s.metadata!.labels!['kubernetes.io/service-name']}`))) {
        fresh.setEndpoints(nn, endpointsByServicePort([...slices.values()].filter((s) => `${s.metadata!.namespace}/${s.metadata!.labels!['kubernetes.io/service-name']}` === nn), settings.ipFamily, settings.nodeName));
      }
      proxier = fresh;
    }
    const touched = new Set<string>();
    for (const d of step.services ?? []) {
      services.set(`${d.namespace}/${d.name}`, serviceObject(d));
      proxier.setService(`${d.namespace}/${d.name}`, servicePorts(serviceObject(d), settings.ipFamily));
    }
    for (const nn of step.deleteServices ?? []) {
      services.delete(nn);
      proxier.setService(nn, []);
    }
    for (const d of step.endpointSlices ?? []) {
      const o = sliceObject(d);
      slices.set(`${d.namespace}/${o.metadata!.name}`, o);
      touched.add(`${d.namespace}/${d.service}`);
    }
    for (const key of step.deleteEndpointSlices ?? []) {
      const o = slices.get(key);
      if (!o) throw new Error(`${c.file}: no EndpointSlice ${key} to delete`);
      slices.delete(key);
      touched.add(`${o.metadata!.namespace}/${o.metadata!.labels!['kubernetes.io/service-name']}`);
    }
    for (const nn of touched) {
      const mine = [...slices.values()].filter((s) => `${s.metadata!.namespace}/${s.metadata!.labels!['kubernetes.io/service-name']}` === nn);
      proxier.setEndpoints(nn, endpointsByServicePort(mine, settings.ipFamily, settings.nodeName));
    }
    outputs.push(proxier.sync().restoreText);
    if (step.restoreFails) proxier.restoreFailed();
  }
  return outputs;
}
