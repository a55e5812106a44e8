// The pods table: printPod in pkg/printers/internalversion/printers.go, READY/STATUS/RESTARTS included.
import type * as core from 'kubernetes-types/core/v1.js';
import type { Pod } from '../../cluster/objects.ts';
import { AGE, NAME, type KindTable } from './columns.ts';
import { age, humanDuration, parseTime } from './duration.ts';

type ContainerStatus = core.ContainerStatus;

const isRestartable = (c: core.Container | undefined): boolean => c?.restartPolicy === 'Always';

const conditionTrue = (pod: Pod, type: string): boolean =>
  (pod.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');

/** The later of `latest` and the container's last termination; Go starts from the zero time. */
function lastTermination(latest: number | undefined, cs: ContainerStatus): number | undefined {
  const finished = parseTime(cs.lastState?.terminated?.finishedAt);
  if (finished === undefined) return latest;
  return latest === undefined || finished > latest ? finished : latest;
}

interface PodState {
  ready: string;
  status: string;
  restarts: string;
}

function podState(pod: Pod, now: Date): PodState {
  const spec = pod.spec;
  const status = pod.status ?? {};
  const initSpecs = spec?.initContainers ?? [];
  const initByName = new Map(initSpecs.map((c) => [c.name, c]));
  const totalContainers = (spec?.containers ?? []).length + initSpecs.filter(isRestartable).length;
  let readyContainers = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart: number | undefined;
  let lastSidecarRestart: number | undefined;

  let reason = status.reason || status.phase || '';
  if ((status.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) {
    reason = 'SchedulingGated';
  }

  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    const sidecar = isRestartable(initByName.get(cs.name));
    restarts += cs.restartCount;
    lastRestart = lastTermination(lastRestart, cs);
    if (sidecar) {
      sidecarRestarts += cs.restartCount;
      lastSidecarRestart = lastTermination(lastSidecarRestart, cs);
    }
    const terminated = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (terminated && terminated.exitCode === 0) continue;
    if (sidecar && cs.started) {
      if (cs.ready) readyContainers++;
      continue;
    }
    if (terminated) {
      if (!terminated.reason) {
        reason = terminated.signal ? `Init:Signal:${terminated.signal}` : `Init:ExitCode:${terminated.exitCode}`;
      } else {
        reason = `Init:${terminated.reason}`;
      }
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(pod, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    // Backwards, so that the first container's reason is the one left standing.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += cs.restartCount;
      lastRestart = lastTermination(lastRestart, cs);
      const terminated = cs.state?.terminated;
      if (cs.state?.waiting?.reason) {
        reason = cs.state.waiting.reason;
      } else if (terminated?.reason) {
        reason = terminated.reason;
      } else if (terminated) {
        reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode}`;
      } else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
    }
  }

  const deleting = pod.metadata?.deletionTimestamp !== undefined;
  if (deleting && status.reason === 'NodeLost') {
    reason = 'Unknown';
  } else if (deleting && status.phase !== 'Succeeded' && status.phase !== 'Failed') {
    reason = 'Terminating';
  }

  const restartText = restarts !== 0 && lastRestart !== undefined
    ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)`
    : `${restarts}`;
  return { ready: `${readyContainers}/${totalContainers}`, status: reason, restarts: restartText };
}

function readinessGates(pod: Pod): string {
  const gates = pod.spec?.readinessGates ?? [];
  if (gates.length === 0) return '<none>';
  const conditions = pod.status?.conditions ?? [];
  const met = gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length;
  return `${met}/${gates.length}`;
}

/** The IP as the apiserver's conversion sees it: status.podIP wins over podIPs[0] when both are set. */
const podIP = (pod: Pod): string => pod.status?.podIP || pod.status?.podIPs?.[0]?.ip || '';

export const podTable: KindTable<Pod> = {
  columns: [
    NAME, { name: 'Ready' }, { name: 'Status' }, { name: 'Restarts' }, AGE,
    { name: 'IP', wide: true }, { name: 'Node', wide: true }, { name: 'Nominated Node', wide: true },
    { name: 'Readiness Gates', wide: true },
  ],
  cells(pod, now) {
    const { ready, status, restarts } = podState(pod, now);
    return [
      pod.metadata?.name ?? '', ready, status, restarts, age(pod.metadata?.creationTimestamp, now),
      podIP(pod) || '<none>', pod.spec?.nodeName || '<none>', pod.status?.nominatedNodeName || '<none>',
      readinessGates(pod),
    ];
  },
};
