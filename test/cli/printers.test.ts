// Cell expectations come from kubernetes/kubernetes pkg/printers/internalversion/printers_test.go (converted from
// the internal API to v1 objects); whole-table expectations follow kubectl's tabwriter settings.
import { describe, expect, it } from 'vitest';
import type {
  DaemonSet, Deployment, EndpointSlice, Endpoints, Ingress, KubeObject, Node, Pod, ReplicaSet, Service, StatefulSet,
} from '../../src/cluster/objects.ts';
import { noResourcesMessage, printTable, type TableOptions } from '../../src/cli/printers/table.ts';
import { formatTable } from '../../src/cli/printers/tabwriter.ts';

const NOW = new Date('2024-06-01T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString();
const DAY = 24 * 3600;

const opts = (o: Partial<TableOptions> = {}): TableOptions => ({ wide: false, withNamespace: false, now: NOW, ...o });
const obj = <T>(o: T): KubeObject => o as unknown as KubeObject;

/** The table printed for one object must be exactly the header plus these cells, laid out by the tabwriter. */
function expectRow(kind: string, o: unknown, header: string[], cells: string[], wide = false): void {
  expect(printTable(kind, [obj(o)], opts({ wide }))).toBe(formatTable([header, cells]));
}

const POD_HEADER = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'];
const containers = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `c${i}` }));
const running = { running: {} };
const pod = (name: string, spec: Partial<NonNullable<Pod['spec']>>, status: Pod['status'], meta: Partial<Pod['metadata']> = {}): Pod =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, ...meta }, spec: { containers: [], ...spec }, status });
const cs = (o: Partial<NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number]>) =>
  ({ name: '', image: '', imageID: '', ready: false, restartCount: 0, ...o });

describe('pods (TestPrintPod)', () => {
  it.each<[string, Pod, string[]]>([
    ['restarts add up, only running+ready containers count', pod('test1', { containers: containers(2) }, {
      phase: 'podPhase',
      containerStatuses: [cs({ ready: true, restartCount: 3, state: running }), cs({ restartCount: 3 })],
    }), ['test1', '1/2', 'podPhase', '6', '<unknown>']],
    ['a waiting reason overrides the phase', pod('test2', { containers: containers(2) }, {
      phase: 'podPhase',
      containerStatuses: [
        cs({ ready: true, restartCount: 3, state: running }),
        cs({ restartCount: 3, state: { waiting: { reason: 'ContainerWaitingReason' } } }),
      ],
    }), ['test2', '1/2', 'ContainerWaitingReason', '6', '<unknown>']],
    ['the first container\'s reason wins', pod('test3', { containers: containers(2) }, {
      phase: 'podPhase',
      containerStatuses: [
        cs({ restartCount: 3, state: { waiting: { reason: 'ContainerWaitingReason' } } }),
        cs({ restartCount: 3, state: { terminated: { exitCode: 0, reason: 'ContainerTerminatedReason' } } }),
      ],
    }), ['test3', '0/2', 'ContainerWaitingReason', '6', '<unknown>']],
    ['ready is not enough for running', pod('test4', { containers: containers(2) }, {
      phase: 'podPhase',
      containerStatuses: [cs({ ready: true, restartCount: 3, state: running }), cs({ ready: true, restartCount: 3 })],
    }), ['test4', '1/2', 'podPhase', '6', '<unknown>']],
    ['status.reason overrides the phase', pod('test5', { containers: containers(2) }, {
      reason: 'podReason', phase: 'podPhase',
      containerStatuses: [cs({ ready: true, restartCount: 3, state: running }), cs({ ready: true, restartCount: 3 })],
    }), ['test5', '1/2', 'podReason', '6', '<unknown>']],
    ['completed + running without Ready condition is NotReady', pod('test6', { containers: containers(2) }, {
      phase: 'Running',
      containerStatuses: [
        cs({ ready: true, restartCount: 3, state: { terminated: { reason: 'Completed', exitCode: 0 } } }),
        cs({ ready: true, restartCount: 3, state: running }),
      ],
    }), ['test6', '1/2', 'NotReady', '6', '<unknown>']],
    ['completed + running with Ready condition is Running', pod('test6', { containers: containers(2) }, {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        cs({ ready: true, restartCount: 3, state: { terminated: { reason: 'Completed', exitCode: 0 } } }),
        cs({ ready: true, restartCount: 3, state: running }),
      ],
    }), ['test6', '1/2', 'Running', '6', '<unknown>']],
    ['a restarting init container', pod('test7', { initContainers: containers(1), containers: containers(1) }, {
      phase: 'podPhase',
      initContainerStatuses: [cs({ restartCount: 3, state: running, lastState: { terminated: { exitCode: 0, finishedAt: ago(10) } } })],
      containerStatuses: [cs({ state: { waiting: {} } })],
    }), ['test7', '0/1', 'Init:0/1', '3 (10s ago)', '<unknown>']],
    ['one init container restarting, another not running', pod('test8', { initContainers: containers(2), containers: containers(1) }, {
      phase: 'podPhase',
      initContainerStatuses: [
        cs({ restartCount: 3, state: running, lastState: { terminated: { exitCode: 0, finishedAt: ago(10) } } }),
        cs({ state: { waiting: {} } }),
      ],
      containerStatuses: [cs({ state: { waiting: {} } })],
    }), ['test8', '0/1', 'Init:0/2', '3 (10s ago)', '<unknown>']],
    ['first init container done, second restarting', pod('test9', { initContainers: containers(2), containers: containers(1) }, {
      phase: 'podPhase',
      initContainerStatuses: [
        cs({ state: { terminated: { exitCode: 0 } } }),
        cs({ restartCount: 3, state: running, lastState: { terminated: { exitCode: 0, finishedAt: ago(10) } } }),
      ],
      containerStatuses: [cs({ state: { waiting: {} } })],
    }), ['test9', '0/1', 'Init:1/2', '3 (10s ago)', '<unknown>']],
    ['init restarts add up and the latest one is shown', pod('test10', { initContainers: containers(2), containers: containers(1) }, {
      phase: 'podPhase',
      initContainerStatuses: [
        cs({ restartCount: 2, state: { terminated: { exitCode: 0 } }, lastState: { terminated: { exitCode: 0, finishedAt: ago(120) } } }),
        cs({ restartCount: 3, state: running, lastState: { terminated: { exitCode: 0, finishedAt: ago(10) } } }),
      ],
      containerStatuses: [cs({ state: { waiting: {} } })],
    }), ['test10', '0/1', 'Init:1/2', '5 (10s ago)', '<unknown>']],
    ['once initialized, init container restarts no longer count', pod('test11', { initContainers: containers(1), containers: containers(1) }, {
      phase: 'Running',
      initContainerStatuses: [
        cs({ restartCount: 2, state: { terminated: { exitCode: 0 } }, lastState: { terminated: { exitCode: 0, finishedAt: ago(120) } } }),
      ],
      containerStatuses: [
        cs({ restartCount: 4, state: running, lastState: { terminated: { exitCode: 0, finishedAt: ago(20) } } }),
      ],
    }), ['test11', '0/1', 'Running', '4 (20s ago)', '<unknown>']],
    ['restarted 5d ago', pod('test12', { containers: containers(1) }, {
      phase: 'Running',
      containerStatuses: [cs({ ready: true, restartCount: 3, state: running, lastState: { terminated: { exitCode: 0, finishedAt: ago(5 * DAY) } } })],
    }), ['test12', '1/1', 'Running', '3 (5d ago)', '<unknown>']],
    ['the latest restart of several containers', pod('test14', { containers: containers(2) }, {
      phase: 'Running',
      containerStatuses: [
        cs({ ready: true, restartCount: 6, state: running, lastState: { terminated: { exitCode: 0, finishedAt: ago(5 * DAY) } } }),
        cs({ ready: true, restartCount: 3, state: running, lastState: { terminated: { exitCode: 0, finishedAt: ago(20 * DAY) } } }),
      ],
    }), ['test14', '2/2', 'Running', '9 (5d ago)', '<unknown>']],
    ['scheduling gated', pod('test15', { containers: containers(2) }, {
      phase: 'podPhase',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }],
    }), ['test15', '0/2', 'SchedulingGated', '0', '<unknown>']],
    ['succeeded', pod('test16', { containers: containers(1) }, {
      phase: 'Succeeded',
      containerStatuses: [cs({ state: { terminated: { reason: 'Completed', exitCode: 0 } } })],
    }), ['test16', '0/1', 'Completed', '0', '<unknown>']],
    ['failed', pod('test17', { containers: containers(1) }, {
      phase: 'Failed',
      containerStatuses: [cs({ state: { terminated: { reason: 'Error', exitCode: 1 } } })],
    }), ['test17', '0/1', 'Error', '0', '<unknown>']],
    ['a deleted pod that already succeeded is not Terminating', pod('test18', { containers: containers(1) }, {
      phase: 'Succeeded',
      containerStatuses: [cs({ state: { terminated: { reason: 'Completed', exitCode: 0 } } })],
    }, { deletionTimestamp: ago(10) }), ['test18', '0/1', 'Completed', '0', '<unknown>']],
    ['a deleted running pod is Terminating', pod('test19', { containers: containers(1) }, {
      phase: 'Running', containerStatuses: [cs({ state: running })],
    }, { deletionTimestamp: ago(10) }), ['test19', '0/1', 'Terminating', '0', '<unknown>']],
    ['a deleted pending pod is Terminating', pod('test20', { containers: containers(1) }, { phase: 'Pending' }, { deletionTimestamp: ago(10) }),
      ['test20', '0/1', 'Terminating', '0', '<unknown>']],
    ['a deleted pod on a lost node is Unknown', pod('lost', { containers: containers(1) }, { phase: 'Running', reason: 'NodeLost' }, { deletionTimestamp: ago(10) }),
      ['lost', '0/1', 'Unknown', '0', '<unknown>']],
    ['an init container that failed without a reason', pod('exit', { initContainers: containers(1), containers: containers(1) }, {
      phase: 'Pending', initContainerStatuses: [cs({ state: { terminated: { exitCode: 2 } } })],
    }), ['exit', '0/1', 'Init:ExitCode:2', '0', '<unknown>']],
    ['an init container waiting with a reason', pod('crash', { initContainers: containers(1), containers: containers(1) }, {
      phase: 'Pending', initContainerStatuses: [cs({ state: { waiting: { reason: 'CrashLoopBackOff' } } })],
    }), ['crash', '0/1', 'Init:CrashLoopBackOff', '0', '<unknown>']],
  ])('%s', (_name, p, cells) => {
    expectRow('Pod', p, POD_HEADER, cells);
  });
});

describe('pods with restartable init containers (TestPrintPodWithRestartableInitContainer)', () => {
  const sidecars = [{ name: 'restartable-init-1', restartPolicy: 'Always' }, { name: 'restartable-init-2', restartPolicy: 'Always' }];
  it.each<[string, Pod, string[]]>([
    ['first sidecar running but not started', pod('test1', { initContainers: sidecars, containers: containers(1) }, {
      phase: 'Pending',
      initContainerStatuses: [
        cs({ name: 'restartable-init-1', restartCount: 3, state: running, started: false, lastState: { terminated: { exitCode: 0, finishedAt: ago(10) } } }),
        cs({ name: 'restartable-init-2', state: { waiting: {} }, started: false }),
      ],
      containerStatuses: [cs({ state: { waiting: {} } })],
      conditions: [{ type: 'Initialized', status: 'False' }],
    }), ['test1', '0/3', 'Init:0/2', '3 (10s ago)', '<unknown>']],
    ['first sidecar started, second not', pod('test1', { initContainers: sidecars, containers: containers(1) }, {
      phase: 'Pending',
      initContainerStatuses: [
        cs({ name: 'restartable-init-1', restartCount: 3, state: running, started: true, lastState: { terminated: { exitCode: 0, finishedAt: ago(10) } } }),
        cs({ name: 'restartable-init-2', state: running, started: false }),
      ],
      containerStatuses: [cs({ state: { waiting: {} } })],
      conditions: [{ type: 'Initialized', status: 'False' }],
    }), ['test1', '0/3', 'Init:1/2', '3 (10s ago)', '<unknown>']],
    ['both sidecars started and the container running', pod('test2', { initContainers: sidecars, containers: containers(1) }, {
      phase: 'Running',
      initContainerStatuses: [
        cs({ name: 'restartable-init-1', restartCount: 3, state: running, started: true, lastState: { terminated: { exitCode: 0, finishedAt: ago(10) } } }),
        cs({ name: 'restartable-init-2', state: running, started: true }),
      ],
      containerStatuses: [cs({ ready: true, restartCount: 4, state: running, lastState: { terminated: { exitCode: 0, finishedAt: ago(20) } } })],
      conditions: [{ type: 'Initialized', status: 'True' }],
    }), ['test2', '1/3', 'Running', '7 (10s ago)', '<unknown>']],
    ['sidecars failed, container completed', pod('test3', { initContainers: sidecars, containers: containers(1) }, {
      phase: 'Succeeded',
      initContainerStatuses: [
        cs({ name: 'restartable-init-1', restartCount: 3, state: { terminated: { reason: 'Error', exitCode: 137 } }, started: false, lastState: { terminated: { exitCode: 0, finishedAt: ago(10) } } }),
        cs({ name: 'restartable-init-2', state: { terminated: { reason: 'Error', exitCode: 137 } }, started: false }),
      ],
      containerStatuses: [cs({ restartCount: 4, state: { terminated: { reason: 'Completed', exitCode: 0 } }, lastState: { terminated: { exitCode: 0, finishedAt: ago(20) } } })],
      conditions: [{ type: 'Initialized', status: 'True' }],
    }), ['test3', '0/3', 'Completed', '7 (10s ago)', '<unknown>']],
    ['statuses for containers the spec does not have', pod('test4', {
      initContainers: [{ name: 'init1', image: 'initimage' }, { name: 'sidecar1', image: 'sidecarimage', restartPolicy: 'Always' }],
      containers: [{ name: 'container1', image: 'containerimage' }],
    }, {
      phase: 'Running',
      initContainerStatuses: [cs({ name: 'initinvalid' }), cs({ name: 'init1' }), cs({ name: 'sidecar1' })],
      containerStatuses: [cs({ name: 'containerinvalid' }), cs({ name: 'container1' })],
    }), ['test4', '0/2', 'Init:0/2', '0', '<unknown>']],
  ])('%s', (_name, p, cells) => {
    expectRow('Pod', p, POD_HEADER, cells);
  });
});

describe('pods -o wide (TestPrintPodwide)', () => {
  const header = [...POD_HEADER, 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'];
  it('shows IP, node, nominated node and met readiness gates', () => {
    const p = pod('test1', {
      containers: containers(2), nodeName: 'test1',
      readinessGates: [{ conditionType: 'condition1' }, { conditionType: 'condition2' }, { conditionType: 'condition3' }],
    }, {
      conditions: [{ type: 'condition1', status: 'False' }, { type: 'condition2', status: 'True' }],
      phase: 'podPhase', podIPs: [{ ip: '1.1.1.1' }, { ip: '2001:db8::' }], nominatedNodeName: 'node1',
      containerStatuses: [cs({ ready: true, restartCount: 3, state: running }), cs({ restartCount: 3 })],
    });
    expectRow('Pod', p, header, ['test1', '1/2', 'podPhase', '6', '<unknown>', '1.1.1.1', 'test1', 'node1', '1/3'], true);
  });

  it('shows <none> for what is not set', () => {
    const p = pod('test2', { containers: containers(2) }, {
      phase: 'podPhase',
      containerStatuses: [
        cs({ ready: true, restartCount: 3, state: running }),
        cs({ restartCount: 3, state: { waiting: { reason: 'ContainerWaitingReason' } } }),
      ],
    });
    expectRow('Pod', p, header, ['test2', '1/2', 'ContainerWaitingReason', '6', '<unknown>', '<none>', '<none>', '<none>', '<none>'], true);
  });

  it('takes status.podIP when podIPs is missing, as the apiserver conversion does', () => {
    const p = pod('p', { containers: containers(1) }, { phase: 'Running', podIP: '10.244.1.5' });
    expectRow('Pod', p, header, ['p', '0/1', 'Running', '0', '<unknown>', '10.244.1.5', '<none>', '<none>', '<none>'], true);
  });
});

const NODE_HEADER = ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'];
const NODE_WIDE = [...NODE_HEADER, 'INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'];
const node = (name: string, o: Partial<Node> = {}): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, ...o });

describe('nodes (TestPrintNodeStatus, Role, OSImage, ExternalIP, InternalIP)', () => {
  const ready = (status: string) => ({ conditions: [{ type: 'Ready', status }] });
  it.each<[Node, string, string]>([
    [node('foo1', { status: ready('True') }), 'Ready', '<none>'],
    [node('foo2', { spec: { unschedulable: true }, status: ready('True') }), 'Ready,SchedulingDisabled', '<none>'],
    [node('foo3', { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Ready', status: 'True' }] } }), 'Ready', '<none>'],
    [node('foo4', { status: ready('False') }), 'NotReady', '<none>'],
    [node('foo5', { spec: { unschedulable: true }, status: ready('False') }), 'NotReady,SchedulingDisabled', '<none>'],
    [node('foo6', { status: { conditions: [{ type: 'InvalidValue', status: 'True' }] } }), 'Unknown', '<none>'],
    [node('foo7', { status: { conditions: [{ type: '', status: '' }] } }), 'Unknown', '<none>'],
    [node('foo8', { spec: { unschedulable: true }, status: { conditions: [{ type: 'InvalidValue', status: 'True' }] } }), 'Unknown,SchedulingDisabled', '<none>'],
    [node('foo9'), 'Unknown', '<none>'],
    [node('foo10', {
      metadata: {
        name: 'foo10',
        labels: {
          'node-role.kubernetes.io/master': '', 'node-role.kubernetes.io/control-plane': '',
          'node-role.kubernetes.io/proxy': '', 'kubernetes.io/role': 'node',
        },
      },
    }), 'Unknown', 'control-plane,master,node,proxy'],
    [node('foo11', { metadata: { name: 'foo11', labels: { 'kubernetes.io/role': 'node' } } }), 'Unknown', 'node'],
  ])('%# %s', (n, status, roles) => {
    expectRow('Node', n, NODE_HEADER, [n.metadata!.name!, status, roles, '<unknown>', '']);
  });

  it.each<[Node, string[]]>([
    [node('foo1', { status: { nodeInfo: { osImage: 'fake-os-image' } as never, addresses: [{ type: 'ExternalIP', address: '1.1.1.1' }] } }),
      ['<none>', '1.1.1.1', 'fake-os-image', '<unknown>', '<unknown>']],
    [node('foo2', { status: { nodeInfo: { kernelVersion: 'fake-kernel-version' } as never, addresses: [{ type: 'ExternalIP', address: '1.1.1.1' }] } }),
      ['<none>', '1.1.1.1', '<unknown>', 'fake-kernel-version', '<unknown>']],
    [node('foo3', { status: { nodeInfo: { containerRuntimeVersion: 'foo://1.2.3' } as never, addresses: [{ type: 'InternalIP', address: '1.1.1.1' }] } }),
      ['1.1.1.1', '<none>', '<unknown>', '<unknown>', 'foo://1.2.3']],
    [node('foo4', {
      status: {
        addresses: [
          { type: 'ExternalIP', address: '2.2.2.2' }, { type: 'InternalIP', address: '3.3.3.3' }, { type: 'ExternalIP', address: '4.4.4.4' },
        ],
      },
    }), ['3.3.3.3', '2.2.2.2', '<unknown>', '<unknown>', '<unknown>']],
  ])('-o wide %#', (n, wide) => {
    expectRow('Node', n, NODE_WIDE, [n.metadata!.name!, 'Unknown', '<none>', '<unknown>', '', ...wide], true);
  });

  it('never gets a NAMESPACE column, even with -A', () => {
    const n = node('kind-control-plane', {
      metadata: { name: 'kind-control-plane', creationTimestamp: ago(3 * 3600 + 60), labels: { 'node-role.kubernetes.io/control-plane': '' } },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.30.0' } as never },
    });
    expect(printTable('Node', [obj(n)], opts({ withNamespace: true }))).toBe(
      'NAME                 STATUS   ROLES           AGE    VERSION\n' +
      'kind-control-plane   Ready    control-plane   3h1m   v1.30.0\n',
    );
  });
});

const SVC_HEADER = ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'];
const svc = (name: string, spec: Service['spec'], status?: Service['status']): Service =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec, ...(status ? { status } : {}) });

describe('services (TestPrintService, TestPrintServiceLoadBalancer)', () => {
  it.each<[Service, string[]]>([
    [svc('test1', { type: 'ClusterIP', ports: [{ protocol: 'tcp', port: 2233 }], clusterIPs: ['10.9.8.7'], selector: { foo: 'bar' } }),
      ['test1', 'ClusterIP', '10.9.8.7', '<none>', '2233/tcp', '<unknown>']],
    [svc('test2', { type: 'NodePort', ports: [{ protocol: 'tcp', port: 8888, nodePort: 9999 }], clusterIPs: ['10.9.8.7'] }),
      ['test2', 'NodePort', '10.9.8.7', '<none>', '8888:9999/tcp', '<unknown>']],
    [svc('test3', { type: 'LoadBalancer', ports: [{ protocol: 'tcp', port: 8888 }], clusterIPs: ['10.9.8.7'] }),
      ['test3', 'LoadBalancer', '10.9.8.7', '<pending>', '8888/tcp', '<unknown>']],
    [svc('test4', { type: 'LoadBalancer', ports: [{ protocol: 'tcp', port: 8888 }], clusterIPs: ['10.9.8.7'], externalIPs: ['80.11.12.10'] }),
      ['test4', 'LoadBalancer', '10.9.8.7', '80.11.12.10', '8888/tcp', '<unknown>']],
    [svc('test5', { type: 'LoadBalancer', ports: [{ protocol: 'tcp', port: 8888 }], clusterIPs: ['10.9.8.7'], externalIPs: ['80.11.12.10'] },
      { loadBalancer: { ingress: [{ ip: '3.4.5.6', hostname: 'test.cluster.com' }] } }),
    ['test5', 'LoadBalancer', '10.9.8.7', '3.4.5.6,80.11.12.10', '8888/tcp', '<unknown>']],
    [svc('test6', { type: 'LoadBalancer', ports: [{ protocol: 'tcp', port: 8888 }], clusterIPs: ['10.9.8.7'], externalIPs: ['80.11.12.10', '80.11.12.11'] },
      { loadBalancer: { ingress: [{ ip: '2.3.4.5', hostname: 'test.cluster.local' }, { ip: '3.4.5.6', hostname: 'test.cluster.com' }] } }),
    ['test6', 'LoadBalancer', '10.9.8.7', '2.3.4.5,3.4.5.6,80.11.12.10,80.11.12.11', '8888/tcp', '<unknown>']],
    [svc('test7', { type: 'ExternalName', externalName: 'my.database.example.com' }),
      ['test7', 'ExternalName', '<none>', 'my.database.example.com', '<none>', '<unknown>']],
    [svc('service2', {
      type: 'LoadBalancer', clusterIPs: ['1.3.4.5'],
      ports: [{ port: 80, protocol: 'TCP' }, { port: 8090, protocol: 'UDP' }, { port: 8000, protocol: 'TCP' }, { port: 7777, protocol: 'SCTP' }],
    }), ['service2', 'LoadBalancer', '1.3.4.5', '<pending>', '80/TCP,8090/UDP,8000/TCP,7777/SCTP', '<unknown>']],
    // Upstream's unit test clips this to "2.3.4.5,3.4.5..." without Wide; kubectl get never does, as the apiserver
    // always prints with Wide.
    [svc('service4', { type: 'LoadBalancer', clusterIPs: ['1.5.6.7'], ports: [{ port: 80, protocol: 'TCP' }] },
      { loadBalancer: { ingress: [{ ip: '2.3.4.5' }, { ip: '3.4.5.6' }, { ip: '5.6.7.8', hostname: 'host5678' }] } }),
    ['service4', 'LoadBalancer', '1.5.6.7', '2.3.4.5,3.4.5.6,5.6.7.8', '80/TCP', '<unknown>']],
  ])('%#', (s, cells) => {
    expectRow('Service', s, SVC_HEADER, cells);
  });

  it('-o wide adds the selector', () => {
    const s = svc('test1', { type: 'ClusterIP', ports: [{ protocol: 'tcp', port: 2233 }], clusterIPs: ['10.9.8.7'], selector: { foo: 'bar', app: 'x' } });
    expectRow('Service', s, [...SVC_HEADER, 'SELECTOR'], ['test1', 'ClusterIP', '10.9.8.7', '<none>', '2233/tcp', '<unknown>', 'app=x,foo=bar'], true);
    const none = svc('kubernetes', { type: 'ClusterIP', ports: [{ protocol: 'TCP', port: 443 }], clusterIPs: ['10.96.0.1'] });
    expectRow('Service', none, [...SVC_HEADER, 'SELECTOR'], ['kubernetes', 'ClusterIP', '10.96.0.1', '<none>', '443/TCP', '<unknown>', '<none>'], true);
  });

  it('prints a NAMESPACE column first with -A', () => {
    const a = { ...svc('kubernetes', { type: 'ClusterIP', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ port: 443, protocol: 'TCP' }] }) };
    a.metadata = { name: 'kubernetes', namespace: 'default', creationTimestamp: ago(5 * 60) };
    const b = svc('kube-dns', {
      type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'],
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }, { name: 'metrics', port: 9153, protocol: 'TCP' }],
    });
    b.metadata = { name: 'kube-dns', namespace: 'kube-system', creationTimestamp: ago(5 * 60) };
    expect(printTable('Service', [obj(a), obj(b)], opts({ withNamespace: true }))).toBe(
      'NAMESPACE     NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)                  AGE\n' +
      'default       kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP                  5m\n' +
      'kube-system   kube-dns     ClusterIP   10.96.0.10   <none>        53/UDP,53/TCP,9153/TCP   5m\n',
    );
  });
});

describe('endpoints (TestPrintEndpoint)', () => {
  const ep = (name: string, subsets?: Endpoints['subsets']): Endpoints => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name }, subsets });
  it.each<[Endpoints, string]>([
    [ep('endpoint1'), '<none>'],
    [ep('endpoint3', [{ addresses: [{ ip: '1.2.3.4' }, { ip: '5.6.7.8' }] }]), '1.2.3.4,5.6.7.8'],
    [ep('endpoint2', [{ addresses: [{ ip: '1.2.3.4' }, { ip: '5.6.7.8' }], ports: [{ port: 8001, protocol: 'tcp' }] }]), '1.2.3.4:8001,5.6.7.8:8001'],
    [ep('endpoint2', [{
      addresses: [{ ip: '1.2.3.4' }, { ip: '5.6.7.8' }, { ip: '9.8.7.6' }, { ip: '6.6.6.6' }], ports: [{ port: 8001, protocol: 'tcp' }],
    }]), '1.2.3.4:8001,5.6.7.8:8001,9.8.7.6:8001 + 1 more...'],
    [ep('v6', [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 80 }] }]), '[fd00::1]:80'],
    [ep('notready', [{ notReadyAddresses: [{ ip: '1.2.3.4' }], ports: [{ port: 80 }] }]), ''],
  ])('%#', (e, cell) => {
    expectRow('Endpoints', e, ['NAME', 'ENDPOINTS', 'AGE'], [e.metadata!.name!, cell, '<unknown>']);
  });
});

describe('endpointslices (TestPrintEndpointSlice)', () => {
  const slice = (name: string, addressType: string, ports: EndpointSlice['ports'], endpoints: EndpointSlice['endpoints']): EndpointSlice =>
    ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name }, addressType, ports, endpoints });
  const header = ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'];
  it.each<[EndpointSlice, string, string]>([
    [slice('abcslice.123', 'IPv4', [{ name: 'http', port: 80, protocol: 'TCP' }], [{ addresses: ['10.1.2.3', '2001:db8::1234:5678'] }]),
      '80', '10.1.2.3,2001:db8::1234:5678'],
    [slice('longerslicename.123', 'IPv6', [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'https', port: 443, protocol: 'TCP' }],
      [{ addresses: ['10.1.2.3', '2001:db8::1234:5678'] }, { addresses: ['10.2.3.4', '2001:db8::2345:6789'] }]),
    '80,443', '10.1.2.3,2001:db8::1234:5678,10.2.3.4 + 1 more...'],
    [slice('multiportslice.123', 'IPv4', [
      { name: 'http', port: 80, protocol: 'TCP' }, { name: 'https', port: 443, protocol: 'TCP' },
      { name: 'extra1', port: 3000, protocol: 'TCP' }, { name: 'extra2', port: 3001, protocol: 'TCP' },
    ], [{ addresses: ['10.1.2.3', '2001:db8::1234:5678'] }, { addresses: ['10.2.3.4', '2001:db8::2345:6789'] }]),
    '80,443,3000 + 1 more...', '10.1.2.3,2001:db8::1234:5678,10.2.3.4 + 1 more...'],
    [slice('empty', 'IPv4', [], []), '<unset>', '<unset>'],
    [slice('named', 'IPv4', [{ name: 'http' }, {}], [{ addresses: ['10.0.0.1'], conditions: { ready: false } }]), 'http,*', '10.0.0.1'],
  ])('%#', (s, ports, endpoints) => {
    expectRow('EndpointSlice', s, header, [s.metadata!.name!, s.addressType, ports, endpoints, '<unknown>']);
  });
});

describe('ingresses (TestPrintIngress)', () => {
  const header = ['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE'];
  it('prints class, hosts, address and ports', () => {
    const ing: Ingress = {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress',
      metadata: { name: 'test1', creationTimestamp: ago(10 * 365 * DAY) },
      spec: { ingressClassName: 'foo', defaultBackend: { service: { name: 'default-backend', port: { name: 'default-backend', number: 80 } } } },
      status: { loadBalancer: { ingress: [{ ip: '2.3.4.5', hostname: 'localhost.localdomain' }] } },
    };
    expectRow('Ingress', ing, header, ['test1', 'foo', '*', '2.3.4.5', '80', '10y']);
  });

  it('lists three hosts at most, says 80, 443 with TLS, and leaves the address empty without status', () => {
    const ing: Ingress = {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web' },
      spec: { rules: [{ host: 'a.example' }, {}, { host: 'b.example' }, { host: 'c.example' }, { host: 'd.example' }], tls: [{ hosts: ['a.example'] }] },
    };
    expectRow('Ingress', ing, header, ['web', '<none>', 'a.example,b.example,c.example + 2 more...', '', '80, 443', '<unknown>']);
  });
});

describe('workloads (TestPrintDeployment, TestPrintDaemonSet)', () => {
  const template = { spec: { containers: [{ name: 'fake-container1', image: 'fake-image1' }, { name: 'fake-container2', image: 'fake-image2' }] } };
  const future = new Date(NOW.getTime() + 1900).toISOString();

  it('deployments', () => {
    const d: Deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'test1', creationTimestamp: future },
      spec: { replicas: 5, template, selector: { matchLabels: { foo: 'bar' } } },
      status: { replicas: 10, updatedReplicas: 2, availableReplicas: 1, unavailableReplicas: 4 },
    };
    const header = ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'];
    expectRow('Deployment', d, header, ['test1', '0/5', '2', '1', '0s']);
    expectRow('Deployment', d, [...header, 'CONTAINERS', 'IMAGES', 'SELECTOR'],
      ['test1', '0/5', '2', '1', '0s', 'fake-container1,fake-container2', 'fake-image1,fake-image2', 'foo=bar'], true);
  });

  it('deployment selectors print as labels.Selector.String()', () => {
    const d: Deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' },
      spec: {
        template: { spec: { containers: [] } },
        selector: {
          matchLabels: { tier: 'web' },
          matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }, { key: 'legacy', operator: 'DoesNotExist' }],
        },
      },
    };
    expectRow('Deployment', d, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR'],
      ['x', '0/0', '0', '0', '<unknown>', '', '', 'env in (dev,prod),!legacy,tier=web'], true);
  });

  it('daemonsets', () => {
    const ds: DaemonSet = {
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'test1', creationTimestamp: future },
      spec: { template, selector: { matchLabels: { foo: 'bar' } } },
      status: { currentNumberScheduled: 2, desiredNumberScheduled: 3, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 0, numberMisscheduled: 0 },
    };
    const header = ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'];
    expectRow('DaemonSet', ds, header, ['test1', '3', '2', '1', '2', '0', '<none>', '0s']);
    expectRow('DaemonSet', ds, [...header, 'CONTAINERS', 'IMAGES', 'SELECTOR'],
      ['test1', '3', '2', '1', '2', '0', '<none>', '0s', 'fake-container1,fake-container2', 'fake-image1,fake-image2', 'foo=bar'], true);
  });

  it('replicasets and statefulsets', () => {
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-5d9c' },
      spec: { replicas: 3, template, selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d9c' } } },
      status: { replicas: 3, readyReplicas: 2 },
    };
    expectRow('ReplicaSet', rs, ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR'],
      ['web-5d9c', '3', '3', '2', '<unknown>', 'fake-container1,fake-container2', 'fake-image1,fake-image2', 'app=web,pod-template-hash=5d9c'], true);
    const ss: StatefulSet = {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' },
      spec: { replicas: 2, serviceName: 'db', template, selector: {} }, status: { replicas: 2, readyReplicas: 1 },
    };
    expectRow('StatefulSet', ss, ['NAME', 'READY', 'AGE'], ['db', '1/2', '<unknown>']);
  });
});

describe('namespaces, configmaps, secrets, ingressclasses', () => {
  it('TestPrintNamespace', () => {
    const header = ['NAME', 'STATUS', 'AGE'];
    expectRow('Namespace', { metadata: { name: 'namespace1', creationTimestamp: new Date(NOW.getTime() + 1900).toISOString() }, status: { phase: 'FooStatus' } },
      header, ['namespace1', 'FooStatus', '0s']);
    expectRow('Namespace', { metadata: { name: 'namespace2' } }, header, ['namespace2', '', '<unknown>']);
  });

  it('counts configmap and secret data, stringData merged as the apiserver does', () => {
    expectRow('ConfigMap', { metadata: { name: 'configmap3' }, data: { foo: 'bar' }, binaryData: { bin: 'YmluYXJ5' } },
      ['NAME', 'DATA', 'AGE'], ['configmap3', '2', '<unknown>']);
    expectRow('Secret', { metadata: { name: 's' }, type: 'Opaque', data: { a: 'eA==' }, stringData: { a: 'x', b: 'y' } },
      ['NAME', 'TYPE', 'DATA', 'AGE'], ['s', 'Opaque', '2', '<unknown>']);
  });

  it('TestPrintIngressClass', () => {
    const header = ['NAME', 'CONTROLLER', 'PARAMETERS', 'AGE'];
    expectRow('IngressClass', { metadata: { name: 'test1' }, spec: { controller: 'example.com/controller', parameters: { kind: 'customgroup', name: 'example' } } },
      header, ['test1', 'example.com/controller', 'customgroup/example', '<unknown>']);
    expectRow('IngressClass', { metadata: { name: 'test1' }, spec: { controller: 'example.com/controller', parameters: { apiGroup: 'example.com', kind: 'customgroup', name: 'example' } } },
      header, ['test1', 'example.com/controller', 'customgroup.example.com/example', '<unknown>']);
    expectRow('IngressClass', { metadata: { name: 'test2' }, spec: { controller: 'example.com/controller2' } },
      header, ['test2', 'example.com/controller2', '<none>', '<unknown>']);
  });
});

describe('the table printer', () => {
  it('prints nothing at all for an empty list', () => {
    expect(printTable('Pod', [], opts())).toBe('');
  });

  it('aligns several objects of one kind together', () => {
    const pods = [
      pod('nginx', { containers: containers(1) }, { phase: 'Running', containerStatuses: [cs({ ready: true, state: running })] }, { creationTimestamp: ago(300) }),
      pod('web-7d4b9c8f5-x2x9p', { containers: containers(2) }, {
        phase: 'Pending', containerStatuses: [cs({ state: { waiting: { reason: 'ContainerCreating' } } }), cs({ state: { waiting: { reason: 'ContainerCreating' } } })],
      }, { creationTimestamp: ago(12) }),
    ];
    expect(printTable('Pod', pods.map(obj), opts())).toBe(
      'NAME                  READY   STATUS              RESTARTS   AGE\n' +
      'nginx                 1/1     Running             0          5m\n' +
      'web-7d4b9c8f5-x2x9p   0/2     ContainerCreating   0          12s\n',
    );
  });

  it('cuts a cell at its first line break and makes escapes visible', () => {
    const cm = { metadata: { name: 'n' }, status: { phase: 'a\x1bb\nsecond line' } };
    expect(printTable('Namespace', [obj(cm)], opts())).toBe('NAME   STATUS    AGE\nn      a^[b...   <unknown>\n');
  });

  it('prefixes names with the type when several kinds are listed (kubectl get all)', () => {
    const d = { metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1 }, status: { readyReplicas: 1, updatedReplicas: 1, availableReplicas: 1 } };
    expect(printTable('Deployment', [obj(d)], opts({ typePrefix: 'deployment.apps' }))).toBe(
      'NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n' +
      'deployment.apps/web   1/1     1            1           <unknown>\n',
    );
  });

  it('refuses kinds it has no printer for', () => {
    expect(() => printTable('Widget', [], opts())).toThrow(/Widget/);
  });

  it('says what kubectl says when nothing was found', () => {
    expect(noResourcesMessage('default')).toBe('No resources found in default namespace.');
    expect(noResourcesMessage(undefined)).toBe('No resources found');
  });
});
