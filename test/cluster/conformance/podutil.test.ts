// Conformance: pod facts the endpoint controllers rely on, ported from upstream kubernetes/kubernetes:
//   pkg/api/v1/pod/util_test.go (commit 959795b430c6b44a24bc75745f5e94a0f90b56ed): TestFindPort
//   staging/src/k8s.io/endpointslice/util/controller_utils_test.go
//     (commit 991b78f93068755236e3eeff83205f048f3d51b8): TestShouldPodBeInEndpoints, TestShouldSetHostname
//
// Upstream FindPort returns (0, error) when no port fits; kdp's findPort returns undefined, so `pass: false`
// cases expect undefined. Upstream calls it with ServicePort{Protocol: "TCP", TargetPort: tc.port} (Port 0).
import { describe, expect, it } from 'vitest';
import type * as core from 'kubernetes-types/core/v1.js';
import type { Pod, Service } from '../../../src/cluster/objects.ts';
import { findPort, shouldPodBeInEndpoints, shouldSetHostname } from '../../../src/cluster/podutil.ts';

type Ctr = Partial<core.Container>;
const podWith = (containers: Ctr[]): Pod => ({ spec: { containers: containers as core.Container[] } });
const ports = (...ps: core.ContainerPort[]): Ctr => ({ ports: ps });

describe('podutil.FindPort — TestFindPort', () => {
  const cases: { name: string; containers: Ctr[]; port: number | string; expected: number | undefined }[] = [
    { name: 'valid int, no ports', containers: [{}], port: 93, expected: 93 },
    {
      name: 'valid int, with ports',
      containers: [ports({ name: '', containerPort: 11, protocol: 'TCP' }, { name: 'p', containerPort: 22, protocol: 'TCP' })],
      port: 93,
      expected: 93,
    },
    { name: 'valid str, no ports', containers: [{}], port: 'p', expected: undefined },
    {
      name: 'valid str, one ctr with ports',
      containers: [
        ports(
          { name: '', containerPort: 11, protocol: 'UDP' },
          { name: 'p', containerPort: 22, protocol: 'TCP' },
          { name: 'q', containerPort: 33, protocol: 'TCP' },
        ),
      ],
      port: 'q',
      expected: 33,
    },
    {
      name: 'valid str, two ctr with ports',
      containers: [
        {},
        ports(
          { name: '', containerPort: 11, protocol: 'UDP' },
          { name: 'p', containerPort: 22, protocol: 'TCP' },
          { name: 'q', containerPort: 33, protocol: 'TCP' },
        ),
      ],
      port: 'q',
      expected: 33,
    },
    {
      name: 'valid str, two ctr with same port',
      containers: [
        {},
        ports(
          { name: '', containerPort: 11, protocol: 'UDP' },
          { name: 'p', containerPort: 22, protocol: 'TCP' },
          { name: 'q', containerPort: 22, protocol: 'TCP' },
        ),
      ],
      port: 'q',
      expected: 22,
    },
    {
      name: 'valid str, invalid protocol',
      containers: [{}, ports({ name: 'a', containerPort: 11, protocol: 'snmp' })],
      port: 'a',
      expected: undefined,
    },
    {
      name: 'valid hostPort',
      containers: [{}, ports({ name: 'a', containerPort: 11, hostPort: 81, protocol: 'TCP' })],
      port: 'a',
      expected: 11,
    },
    {
      name: 'invalid hostPort', // "this should fail but passes"
      containers: [{}, ports({ name: 'a', containerPort: 11, hostPort: -1, protocol: 'TCP' })],
      port: 'a',
      expected: 11,
    },
    {
      name: 'invalid ContainerPort', // "this should fail but passes"
      containers: [{}, ports({ name: 'a', containerPort: -1, protocol: 'TCP' })],
      port: 'a',
      expected: -1,
    },
    {
      name: 'HostIP Address',
      containers: [{}, ports({ name: 'a', containerPort: 11, hostIP: '192.168.1.1', protocol: 'TCP' })],
      port: 'a',
      expected: 11,
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(findPort(podWith(tc.containers), { port: 0, protocol: 'TCP', targetPort: tc.port })).toBe(tc.expected);
    });
  }
});

describe('endpointslice util.ShouldPodBeInEndpoints — TestShouldPodBeInEndpoints', () => {
  const now = '2026-01-01T00:00:00Z';
  const cases: { name: string; pod: Pod; expected: boolean; includeTerminating?: boolean }[] = [
    // Pod should not be in endpoints:
    {
      name: 'Failed pod with Never RestartPolicy',
      pod: { spec: { restartPolicy: 'Never', containers: [] }, status: { phase: 'Failed', podIP: '1.2.3.4' } },
      expected: false,
    },
    {
      name: 'Succeeded pod with Never RestartPolicy',
      pod: { spec: { restartPolicy: 'Never', containers: [] }, status: { phase: 'Succeeded', podIP: '1.2.3.4' } },
      expected: false,
    },
    {
      name: 'Succeeded pod with OnFailure RestartPolicy',
      pod: { spec: { restartPolicy: 'OnFailure', containers: [] }, status: { phase: 'Succeeded', podIP: '1.2.3.4' } },
      expected: false,
    },
    {
      name: 'Empty Pod IPs, Running pod with OnFailure RestartPolicy',
      pod: { spec: { restartPolicy: 'Never', containers: [] }, status: { phase: 'Running', podIP: '', podIPs: [] } },
      expected: false,
    },
    {
      name: 'Terminating Pod with includeTerminating=false',
      pod: { metadata: { deletionTimestamp: now }, spec: { containers: [] }, status: { phase: 'Running', podIP: '1.2.3.4' } },
      expected: false,
    },
    {
      name: 'Failed pod with Always RestartPolicy',
      pod: { spec: { restartPolicy: 'Always', containers: [] }, status: { phase: 'Failed', podIP: '1.2.3.4' } },
      expected: false,
    },
    // Pod should be in endpoints:
    {
      name: 'Pending pod with Never RestartPolicy',
      pod: { spec: { restartPolicy: 'Never', containers: [] }, status: { phase: 'Pending', podIP: '1.2.3.4' } },
      expected: true,
    },
    {
      name: 'Unknown pod with OnFailure RestartPolicy',
      pod: { spec: { restartPolicy: 'OnFailure', containers: [] }, status: { phase: 'Unknown', podIP: '1.2.3.4' } },
      expected: true,
    },
    {
      name: 'Running pod with Never RestartPolicy',
      pod: { spec: { restartPolicy: 'Never', containers: [] }, status: { phase: 'Running', podIP: '1.2.3.4' } },
      expected: true,
    },
    {
      name: 'Multiple Pod IPs, Running pod with OnFailure RestartPolicy',
      pod: {
        spec: { restartPolicy: 'Never', containers: [] },
        status: { phase: 'Running', podIPs: [{ ip: '1.2.3.4' }, { ip: '1234::5678:0000:0000:9abc:def0' }] },
      },
      expected: true,
    },
    {
      name: 'Terminating Pod with includeTerminating=true',
      pod: { metadata: { deletionTimestamp: now }, spec: { containers: [] }, status: { phase: 'Running', podIP: '1.2.3.4' } },
      expected: true,
      includeTerminating: true,
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(shouldPodBeInEndpoints(tc.pod, tc.includeTerminating ?? false)).toBe(tc.expected);
    });
  }
});

describe('endpointslice util.ShouldSetHostname — TestShouldSetHostname', () => {
  const genSimplePod = (namespace: string, hostname: string, subdomain: string): Pod => ({
    metadata: { namespace },
    spec: { hostname, subdomain, containers: [] },
  });
  const genSimpleSvc = (namespace: string, name: string): Service => ({ metadata: { name, namespace } });

  const cases: [name: string, pod: Pod, svc: Service, expected: boolean][] = [
    ['all matching', genSimplePod('ns', 'foo', 'svc-name'), genSimpleSvc('ns', 'svc-name'), true],
    ['all matching, hostname not set', genSimplePod('ns', '', 'svc-name'), genSimpleSvc('ns', 'svc-name'), false],
    ['all set, different name/subdomain', genSimplePod('ns', 'hostname', 'subdomain'), genSimpleSvc('ns', 'name'), false],
    ['all set, different namespace', genSimplePod('ns1', 'hostname', 'svc-name'), genSimpleSvc('ns2', 'svc-name'), false],
  ];
  for (const [name, pod, svc, expected] of cases) {
    it(name, () => {
      expect(shouldSetHostname(pod, svc)).toBe(expected);
    });
  }
});
