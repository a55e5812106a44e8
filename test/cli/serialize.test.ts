import { describe, expect, it } from 'vitest';
import { yamlKeyOrder } from '../../src/cli/printers/order.ts';
import { asList, toJSON, toYAML } from '../../src/cli/printers/serialize.ts';

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-0', namespace: 'default', labels: { app: 'web' },
    uid: '6d4f8a52-1b2c-4d5e-9f00-0a1b2c3d4e5f', resourceVersion: '1234', creationTimestamp: '2024-06-01T11:55:00Z',
  },
  spec: {
    nodeName: 'kind-worker',
    containers: [{ name: 'web', image: 'nginx:1.25', imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 80, protocol: 'TCP' }] }],
    dnsPolicy: 'ClusterFirst',
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
  },
  status: {
    phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }],
    conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2024-06-01T11:55:02Z' }],
  },
};

describe('toYAML (kubectl get -o yaml)', () => {
  it('prints a pod as kubectl does', () => {
    expect(toYAML(pod)).toBe(`apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: "2024-06-01T11:55:00Z"
  labels:
    app: web
  name: web-0
  namespace: default
  resourceVersion: "1234"
  uid: 6d4f8a52-1b2c-4d5e-9f00-0a1b2c3d4e5f
spec:
  containers:
  - image: nginx:1.25
    imagePullPolicy: IfNotPresent
    name: web
    ports:
    - containerPort: 80
      protocol: TCP
  dnsPolicy: ClusterFirst
  nodeName: kind-worker
  tolerations:
  - effect: NoExecute
    key: node.kubernetes.io/not-ready
    operator: Exists
    tolerationSeconds: 300
status:
  conditions:
  - lastProbeTime: null
    lastTransitionTime: "2024-06-01T11:55:02Z"
    status: "True"
    type: Ready
  phase: Running
  podIP: 10.244.1.5
  podIPs:
  - ip: 10.244.1.5
`);
  });

  it('prints an empty result as an empty List', () => {
    expect(toYAML(asList([]))).toBe('apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n');
  });

  it('double-quotes strings that would read back as another type (yaml.v2 resolve)', () => {
    const values = { a: 'true', b: '123', c: '', d: 'yes', e: 'off', f: '1.5', g: 'null', h: '~', i: 'y', j: '2024-01-02', k: '0x1F' };
    expect(toYAML(values)).toBe(
      'a: "true"\nb: "123"\nc: ""\nd: "yes"\ne: "off"\nf: "1.5"\ng: "null"\nh: "~"\ni: "y"\nj: "2024-01-02"\nk: "0x1F"\n',
    );
  });

  it('keeps numbers, booleans, empty collections and nested sequences as yaml.v2 does', () => {
    expect(toYAML({ port: 80, ok: false, m: {}, l: [], n: [[1, 2], [3]] })).toBe(
      'l: []\nm: {}\n"n":\n- - 1\n  - 2\n- - 3\nok: false\nport: 80\n',
    );
  });

  it('writes multi-line strings as literal blocks with yaml.v2\'s chomping', () => {
    expect(toYAML({ a: 'one\ntwo\n', b: 'one\ntwo', c: 'one\n\n' })).toBe('a: |\n  one\n  two\nb: |-\n  one\n  two\nc: |+\n  one\n\n');
  });

  it('orders keys the yaml.v2 way, not by bytes', () => {
    expect(toYAML({ a10: 1, a9: 1, B: 1, _x: 1, b: 1 })).toBe('_x: 1\nB: 1\na9: 1\na10: 1\nb: 1\n');
  });
});

describe('yamlKeyOrder', () => {
  // The string keys of TestSortedOutput in gopkg.in/yaml.v2 encode_test.go, in the order yaml.v2 emits them.
  const order = [
    '', '.1', '.2', '.a', '1', '2', 'a!10', 'a/0001', 'a/002', 'a/3', 'a/10', 'a/11', 'a/0012', 'a/100', 'a~10', 'ab/1',
    'b/1', 'b/01', 'b/2', 'b/02', 'b/3', 'b/03', 'b1', 'b01', 'b3', 'c2.10', 'c10.2', 'd1', 'd7', 'd7abc', 'd12', 'd12a',
    'e2b', 'e4b', 'e21a',
  ];

  it('sorts TestSortedOutput\'s keys into its order', () => {
    const interleaved = order.map((_, i) => order[(i * 12) % order.length]);
    expect(new Set(interleaved).size).toBe(order.length);
    expect([...order].reverse().sort(yamlKeyOrder)).toEqual(order);
    expect(interleaved.sort(yamlKeyOrder)).toEqual(order);
  });
});

describe('toJSON (kubectl get -o json)', () => {
  it('prints an empty result as an empty List', () => {
    expect(toJSON(asList([]))).toBe(
      '{\n    "apiVersion": "v1",\n    "items": [],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n',
    );
  });

  it('indents by four, sorts keys by bytes (integer-like keys included) and leaves {} and [] empty', () => {
    expect(toJSON({ b: { z: [], y: {} }, '10': 1, '9': [1, 'x'], B: null })).toBe(
      '{\n    "10": 1,\n    "9": [\n        1,\n        "x"\n    ],\n    "B": null,\n    "b": {\n        "y": {},\n        "z": []\n    }\n}\n',
    );
  });

  it('escapes <, > and & as Go\'s encoding/json does', () => {
    expect(toJSON({ html: '<a href="x">&</a>', sep: '\u2028' })).toBe(
      '{\n    "html": "\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e",\n    "sep": "\\u2028"\n}\n',
    );
  });
});
