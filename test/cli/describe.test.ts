// Expected outputs of the first cases are TestDescribeService in kubernetes/kubernetes
// staging/src/k8s.io/kubectl/pkg/describe/describe_test.go, verbatim.
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../src/cluster/objects.ts';
import { describeService } from '../../src/cli/printers/describe.ts';

const lbService = (o: { targetPort?: number | string; internalTrafficPolicy?: string; ingress?: { ip: string; ipMode?: string }[]; extra?: Partial<NonNullable<Service['spec']>> } = {}): Service => ({
  apiVersion: 'v1', kind: 'Service',
  metadata: { name: 'bar', namespace: 'foo' },
  spec: {
    type: 'LoadBalancer',
    ports: [{ name: 'port-tcp', port: 8080, protocol: 'TCP', targetPort: o.targetPort ?? 9527, nodePort: 31111 }],
    selector: { blah: 'heh' },
    clusterIP: '1.2.3.4',
    ipFamilies: ['IPv4'],
    loadBalancerIP: '5.6.7.8',
    sessionAffinity: 'None',
    externalTrafficPolicy: 'Local',
    ...(o.internalTrafficPolicy ? { internalTrafficPolicy: o.internalTrafficPolicy } : {}),
    healthCheckNodePort: 32222,
    ...o.extra,
  },
  ...(o.ingress ? { status: { loadBalancer: { ingress: o.ingress } } } : {}),
});

const slice = (name: string, endpoints: { ip: string; ready?: boolean }[], port: { name?: string; port: number } = { name: 'port-tcp', port: 9527 }): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name, namespace: 'foo', labels: { 'kubernetes.io/service-name': 'bar' } },
  addressType: 'IPv4',
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }) })),
  ports: [{ ...port, protocol: 'TCP' }],
});

const lines = (...ls: string[]): string => ls.map((l) => `${l}\n`).join('');

describe('describeService (TestDescribeService)', () => {
  it('test1', () => {
    const svc = lbService({ internalTrafficPolicy: 'Cluster', ingress: [{ ip: '5.6.7.8', ipMode: 'VIP' }] });
    const slices = [slice('bar-abcde', [{ ip: '10.244.0.1', ready: true }, { ip: '10.244.0.2', ready: true }, { ip: '10.244.0.3', ready: true }])];
    expect(describeService(svc, slices)).toBe(lines(
      'Name:                     bar',
      'Namespace:                foo',
      'Labels:                   <none>',
      'Annotations:              <none>',
      'Selector:                 blah=heh',
      'Type:                     LoadBalancer',
      'IP Families:              IPv4',
      'IP:                       1.2.3.4',
      'IPs:                      <none>',
      'Desired LoadBalancer IP:  5.6.7.8',
      'LoadBalancer Ingress:     5.6.7.8 (VIP)',
      'Port:                     port-tcp  8080/TCP',
      'TargetPort:               9527/TCP',
      'NodePort:                 port-tcp  31111/TCP',
      'Endpoints:                10.244.0.1:9527,10.244.0.2:9527,10.244.0.3:9527',
      'Session Affinity:         None',
      'External Traffic Policy:  Local',
      'Internal Traffic Policy:  Cluster',
      'HealthCheck NodePort:     32222',
      'Events:                   <none>',
    ));
  });

  it('test2: two slices, a not-ready endpoint, and the "more" quirk', () => {
    const svc = lbService({ targetPort: 'targetPort', internalTrafficPolicy: 'Local', ingress: [{ ip: '5.6.7.8' }] });
    const slices = [
      slice('bar-12345', [{ ip: '10.244.0.1', ready: true }, { ip: '10.244.0.2', ready: true }]),
      slice('bar-54321', [{ ip: '10.244.0.3', ready: false }, { ip: '10.244.0.4', ready: true }, { ip: '10.244.0.5', ready: true }]),
    ];
    expect(describeService(svc, slices)).toBe(lines(
      'Name:                     bar',
      'Namespace:                foo',
      'Labels:                   <none>',
      'Annotations:              <none>',
      'Selector:                 blah=heh',
      'Type:                     LoadBalancer',
      'IP Families:              IPv4',
      'IP:                       1.2.3.4',
      'IPs:                      <none>',
      'Desired LoadBalancer IP:  5.6.7.8',
      'LoadBalancer Ingress:     5.6.7.8',
      'Port:                     port-tcp  8080/TCP',
      'TargetPort:               targetPort/TCP',
      'NodePort:                 port-tcp  31111/TCP',
      'Endpoints:                10.244.0.1:9527,10.244.0.2:9527,10.244.0.4:9527 + 1 more...',
      'Session Affinity:         None',
      'External Traffic Policy:  Local',
      'Internal Traffic Policy:  Local',
      'HealthCheck NodePort:     32222',
      'Events:                   <none>',
    ));
  });

  it('test-ready-field-empty: unknown readiness counts as ready', () => {
    const svc = lbService({ internalTrafficPolicy: 'Cluster' });
    expect(describeService(svc, [slice('bar-abcdef', [{ ip: '10.244.0.1' }])])).toContain('\nEndpoints:                10.244.0.1:9527\n');
  });

  it('test-ServiceIPFamilyPolicy+ClusterIPs, without slices', () => {
    const svc = lbService({ targetPort: 'targetPort', extra: { ipFamilyPolicy: 'SingleStack', clusterIPs: ['1.2.3.4'] } });
    expect(describeService(svc, [])).toBe(lines(
      'Name:                     bar',
      'Namespace:                foo',
      'Labels:                   <none>',
      'Annotations:              <none>',
      'Selector:                 blah=heh',
      'Type:                     LoadBalancer',
      'IP Family Policy:         SingleStack',
      'IP Families:              IPv4',
      'IP:                       1.2.3.4',
      'IPs:                      1.2.3.4',
      'Desired LoadBalancer IP:  5.6.7.8',
      'Port:                     port-tcp  8080/TCP',
      'TargetPort:               targetPort/TCP',
      'NodePort:                 port-tcp  31111/TCP',
      'Endpoints:                <none>',
      'Session Affinity:         None',
      'External Traffic Policy:  Local',
      'HealthCheck NodePort:     32222',
      'Events:                   <none>',
    ));
  });

  it('test-TrafficDistribution', () => {
    const svc = lbService({ targetPort: 'targetPort', extra: { trafficDistribution: 'PreferClose' } });
    expect(describeService(svc, [])).toContain(lines(
      'HealthCheck NodePort:     32222',
      'Traffic Distribution:     PreferClose',
      'Events:                   <none>',
    ));
  });

  it('test-AppProtocol', () => {
    const svc = lbService({ internalTrafficPolicy: 'Cluster', extra: { ports: [{ name: 'port-tcp', port: 8080, protocol: 'TCP', appProtocol: 'example.com/custom-protocol', targetPort: 9527, nodePort: 31111 }] } });
    expect(describeService(svc, [])).toContain(lines(
      'TargetPort:               9527/TCP',
      'AppProtocol:              example.com/custom-protocol',
      'NodePort:                 port-tcp  31111/TCP',
    ));
  });
});

describe('describeService beyond the upstream cases', () => {
  const clusterIP = (o: Partial<Service> = {}): Service => ({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'nginx', namespace: 'default', labels: { app: 'nginx' } },
    spec: {
      type: 'ClusterIP', selector: { app: 'nginx' }, ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'],
      clusterIP: '10.96.12.34', clusterIPs: ['10.96.12.34'], ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      sessionAffinity: 'None', internalTrafficPolicy: 'Cluster',
    },
    ...o,
  });
  const nginxSlice = (ready = true): EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'nginx-abc12', namespace: 'default', labels: { 'kubernetes.io/service-name': 'nginx' } },
    addressType: 'IPv4', endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready } }], ports: [{ name: '', port: 80, protocol: 'TCP' }],
  });

  it('matches the research example: ClusterIP, one unnamed port, one ready endpoint', () => {
    expect(describeService(clusterIP(), [nginxSlice()])).toBe(lines(
      'Name:                     nginx',
      'Namespace:                default',
      'Labels:                   app=nginx',
      'Annotations:              <none>',
      'Selector:                 app=nginx',
      'Type:                     ClusterIP',
      'IP Family Policy:         SingleStack',
      'IP Families:              IPv4',
      'IP:                       10.96.12.34',
      'IPs:                      10.96.12.34',
      'Port:                     <unset>  80/TCP',
      'TargetPort:               80/TCP',
      'Endpoints:                10.244.0.5:80',
      'Session Affinity:         None',
      'Internal Traffic Policy:  Cluster',
      'Events:                   <none>',
    ));
  });

  it('ignores other services\' slices and leaves Endpoints empty when nothing is ready', () => {
    const other = { ...nginxSlice(), metadata: { name: 'x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'other' } } };
    expect(describeService(clusterIP(), [other])).toContain('\nEndpoints:                <none>\n');
    expect(describeService(clusterIP(), [nginxSlice(false)])).toContain('\nEndpoints:                \n');
  });

  it('lays out multi-line labels and long or multi-line annotations like printAnnotationsMultiline', () => {
    const long = 'x'.repeat(150);
    const svc = clusterIP({
      metadata: {
        name: 'nginx', namespace: 'default', labels: { app: 'nginx', tier: 'web' },
        annotations: { 'a.example/short': 'v', 'b.example/long': long, 'c.example/multi': 'one\ntwo\n', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      },
    });
    expect(describeService(svc, [nginxSlice()])).toContain(lines(
      'Labels:                   app=nginx',
      '                          tier=web',
      'Annotations:              a.example/short: v',
      '                          b.example/long:',
      `                            ${'x'.repeat(138)}...`,
      '                          c.example/multi:',
      '                            one',
      '                            two',
      'Selector:                 app=nginx',
    ));
  });

  it('an ExternalName service: empty IP padded, External Name shown', () => {
    const svc: Service = {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' },
      spec: { type: 'ExternalName', externalName: 'db.example.com', sessionAffinity: 'None' },
    };
    expect(describeService(svc, [])).toBe(lines(
      'Name:              db',
      'Namespace:         default',
      'Labels:            <none>',
      'Annotations:       <none>',
      'Selector:          <none>',
      'Type:              ExternalName',
      'IP Families:       <none>',
      'IP:                ',
      'IPs:               <none>',
      'External Name:     db.example.com',
      'Session Affinity:  None',
      'Events:            <none>',
    ));
  });

  it('shows IPv6 endpoints in brackets and external IPs, source ranges and hostnames', () => {
    const svc = clusterIP({
      spec: {
        type: 'LoadBalancer', ipFamilies: ['IPv6'], clusterIP: 'fd00::1', clusterIPs: ['fd00::1'], externalIPs: ['192.0.2.1', '192.0.2.2'],
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http', nodePort: 30080 }], sessionAffinity: 'ClientIP',
        externalTrafficPolicy: 'Cluster', loadBalancerSourceRanges: ['10.0.0.0/8', '192.168.0.0/16'],
      },
      status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }, { ip: '203.0.113.7' }] } },
    });
    const v6: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'nginx-v6', namespace: 'default', labels: { 'kubernetes.io/service-name': 'nginx' } },
      addressType: 'IPv6', endpoints: [{ addresses: ['fd00:10:244::5'] }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    };
    expect(describeService(svc, [v6])).toBe(lines(
      'Name:                        nginx',
      'Namespace:                   default',
      'Labels:                      app=nginx',
      'Annotations:                 <none>',
      'Selector:                    <none>',
      'Type:                        LoadBalancer',
      'IP Families:                 IPv6',
      'IP:                          fd00::1',
      'IPs:                         fd00::1',
      'External IPs:                192.0.2.1,192.0.2.2',
      'LoadBalancer Ingress:        lb.example.com, 203.0.113.7',
      'Port:                        http  80/TCP',
      'TargetPort:                  http/TCP',
      'NodePort:                    http  30080/TCP',
      'Endpoints:                   [fd00:10:244::5]:8080',
      'Session Affinity:            ClientIP',
      'External Traffic Policy:     Cluster',
      'LoadBalancer Source Ranges:  10.0.0.0/8,192.168.0.0/16',
      'Events:                      <none>',
    ));
  });
});
