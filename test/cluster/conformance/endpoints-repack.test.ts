// Conformance: endpoints.RepackSubsets, ported from upstream kubernetes/kubernetes
//   pkg/api/v1/endpoints/util_test.go, TestPackSubsets. The case list is the current one (read from a recent
//   snapshot of the file, the revision that imports k8s.io/apimachinery/pkg/util/dump). Older revisions (e.g.
//   kubernetes/kubernetes bff3cb4df68d699285285c09c1c46be69ef1465a) expected [] for the two "empty ports" cases;
//   RepackSubsets has since kept port-less subsets (a Port -1 sentinel that is dropped from the output).
//
// Upstream compares RepackSubsets(given) with SortSubsets(expect) by reflect.DeepEqual. SortSubsets orders ports and
// subsets by an md5 of a Go spew dump, which kdp does not reproduce, so ports within a subset and the subsets
// themselves are compared as sets here. Addresses are compared in order: SortSubsets sorts them by IP as bytes, then
// target UID (no targetRef first). Absent and empty address/port lists are treated alike (omitempty).
import { describe, expect, it } from 'vitest';
import type * as core from 'kubernetes-types/core/v1.js';
import { repackSubsets } from '../../../src/cluster/controllers/endpoints.ts';

type Subset = core.EndpointSubset;
type Address = core.EndpointAddress;

const podRef = (uid: string): core.ObjectReference => ({ uid });
const fooObjRef: core.ObjectReference = { name: 'foo' };
const barObjRef: core.ObjectReference = { name: 'bar' };

const a = (ip: string, targetRef?: core.ObjectReference): Address => (targetRef ? { ip, targetRef } : { ip });
const p = (port: number): core.EndpointPort => ({ port });

const byJSON = (x: unknown, y: unknown) => {
  const [s, t] = [JSON.stringify(x), JSON.stringify(y)];
  return s < t ? -1 : s > t ? 1 : 0;
};

function canon(subsets: Subset[]) {
  return subsets
    .map((s) => ({
      addresses: s.addresses ?? [],
      notReadyAddresses: s.notReadyAddresses ?? [],
      ports: [...(s.ports ?? [])].sort(byJSON),
    }))
    .sort(byJSON);
}

const cases: { name: string; given: Subset[]; expect: Subset[] }[] = [
  {
    name: 'empty everything',
    given: [{ addresses: [], ports: [] }],
    expect: [],
  },
  {
    name: 'empty addresses',
    given: [{ addresses: [], ports: [p(111)] }],
    expect: [],
  },
  {
    name: 'empty ports',
    given: [{ addresses: [a('1.2.3.4')], ports: [] }],
    expect: [{ addresses: [a('1.2.3.4')] }],
  },
  {
    name: 'empty ports (notReady)',
    given: [{ notReadyAddresses: [a('1.2.3.4')], ports: [] }],
    expect: [{ notReadyAddresses: [a('1.2.3.4')] }],
  },
  {
    name: 'one set, one ip, one port',
    given: [{ addresses: [a('1.2.3.4')], ports: [p(111)] }],
    expect: [{ addresses: [a('1.2.3.4')], ports: [p(111)] }],
  },
  {
    name: 'one set, one ip, one port (IPv6)',
    given: [{ addresses: [a('beef::1:2:3:4')], ports: [p(111)] }],
    expect: [{ addresses: [a('beef::1:2:3:4')], ports: [p(111)] }],
  },
  {
    name: 'one set, one notReady ip, one port',
    given: [{ notReadyAddresses: [a('1.2.3.4')], ports: [p(111)] }],
    expect: [{ notReadyAddresses: [a('1.2.3.4')], ports: [p(111)] }],
  },
  {
    name: 'one set, one ip, one UID, one port',
    given: [{ addresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111)] }],
    expect: [{ addresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111)] }],
  },
  {
    name: 'one set, one notReady ip, one UID, one port',
    given: [{ notReadyAddresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111)] }],
    expect: [{ notReadyAddresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111)] }],
  },
  {
    name: 'one set, one ip, empty UID, one port',
    given: [{ addresses: [a('1.2.3.4', podRef(''))], ports: [p(111)] }],
    expect: [{ addresses: [a('1.2.3.4', podRef(''))], ports: [p(111)] }],
  },
  {
    name: 'one set, one notReady ip, empty UID, one port',
    given: [{ notReadyAddresses: [a('1.2.3.4', podRef(''))], ports: [p(111)] }],
    expect: [{ notReadyAddresses: [a('1.2.3.4', podRef(''))], ports: [p(111)] }],
  },
  {
    name: 'one set, two ips, one port',
    given: [{ addresses: [a('1.2.3.4'), a('5.6.7.8')], ports: [p(111)] }],
    expect: [{ addresses: [a('1.2.3.4'), a('5.6.7.8')], ports: [p(111)] }],
  },
  {
    name: 'one set, two mixed ips, one port',
    given: [{ addresses: [a('1.2.3.4')], notReadyAddresses: [a('5.6.7.8')], ports: [p(111)] }],
    expect: [{ addresses: [a('1.2.3.4')], notReadyAddresses: [a('5.6.7.8')], ports: [p(111)] }],
  },
  {
    name: 'one set, two duplicate ips, one port, notReady is covered by ready',
    given: [{ addresses: [a('1.2.3.4')], notReadyAddresses: [a('1.2.3.4')], ports: [p(111)] }],
    expect: [{ notReadyAddresses: [a('1.2.3.4')], ports: [p(111)] }],
  },
  {
    name: 'one set, one ip, two ports',
    given: [{ addresses: [a('1.2.3.4')], ports: [p(111), p(222)] }],
    expect: [{ addresses: [a('1.2.3.4')], ports: [p(111), p(222)] }],
  },
  {
    name: 'one set, dup ips, one port',
    given: [{ addresses: [a('1.2.3.4'), a('1.2.3.4')], ports: [p(111)] }],
    expect: [{ addresses: [a('1.2.3.4')], ports: [p(111)] }],
  },
  {
    name: 'one set, dup ips, one port (IPv6)',
    given: [{ addresses: [a('beef::1'), a('beef::1')], ports: [p(111)] }],
    expect: [{ addresses: [a('beef::1')], ports: [p(111)] }],
  },
  {
    name: 'one set, one ip, dup ports',
    given: [{ addresses: [a('1.2.3.4')], ports: [p(111), p(111)] }],
    expect: [{ addresses: [a('1.2.3.4')], ports: [p(111)] }],
  },
  {
    name: 'two sets, dup ip, dup port',
    given: [
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
    ],
    expect: [{ addresses: [a('1.2.3.4')], ports: [p(111)] }],
  },
  {
    name: 'two sets, dup mixed ip, dup port',
    given: [
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
      { notReadyAddresses: [a('1.2.3.4')], ports: [p(111)] },
    ],
    expect: [{ notReadyAddresses: [a('1.2.3.4')], ports: [p(111)] }],
  },
  {
    name: 'two sets, dup ip, two ports',
    given: [
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
      { addresses: [a('1.2.3.4')], ports: [p(222)] },
    ],
    expect: [{ addresses: [a('1.2.3.4')], ports: [p(111), p(222)] }],
  },
  {
    name: 'two sets, dup ip, dup uids, two ports',
    given: [
      { addresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111)] },
      { addresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(222)] },
    ],
    expect: [{ addresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111), p(222)] }],
  },
  {
    name: 'two sets, dup mixed ip, dup uids, two ports',
    given: [
      { addresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111)] },
      { notReadyAddresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(222)] },
    ],
    expect: [
      { addresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111)] },
      { notReadyAddresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(222)] },
    ],
  },
  {
    name: 'two sets, two ips, dup port',
    given: [
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
      { addresses: [a('5.6.7.8')], ports: [p(111)] },
    ],
    expect: [{ addresses: [a('1.2.3.4'), a('5.6.7.8')], ports: [p(111)] }],
  },
  {
    name: 'two set, dup ip, two uids, dup ports',
    given: [
      { addresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111)] },
      { addresses: [a('1.2.3.4', podRef('uid-2'))], ports: [p(111)] },
    ],
    expect: [{ addresses: [a('1.2.3.4', podRef('uid-1')), a('1.2.3.4', podRef('uid-2'))], ports: [p(111)] }],
  },
  {
    name: 'two set, dup ip, with and without uid, dup ports',
    given: [
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
      { addresses: [a('1.2.3.4', podRef('uid-2'))], ports: [p(111)] },
    ],
    expect: [{ addresses: [a('1.2.3.4'), a('1.2.3.4', podRef('uid-2'))], ports: [p(111)] }],
  },
  {
    name: 'two sets, two ips, two dup ip with uid, dup port, wrong order',
    given: [
      { addresses: [a('5.6.7.8')], ports: [p(111)] },
      { addresses: [a('5.6.7.8', podRef('uid-1'))], ports: [p(111)] },
      { addresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111)] },
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
    ],
    expect: [
      {
        addresses: [a('1.2.3.4'), a('1.2.3.4', podRef('uid-1')), a('5.6.7.8'), a('5.6.7.8', podRef('uid-1'))],
        ports: [p(111)],
      },
    ],
  },
  {
    name: 'two sets, two mixed ips, two dup ip with uid, dup port, wrong order, ends up with split addresses',
    given: [
      { addresses: [a('5.6.7.8')], ports: [p(111)] },
      { notReadyAddresses: [a('5.6.7.8', podRef('uid-1'))], ports: [p(111)] },
      { notReadyAddresses: [a('1.2.3.4', podRef('uid-1'))], ports: [p(111)] },
      { notReadyAddresses: [a('1.2.3.4')], ports: [p(111)] },
    ],
    expect: [
      {
        addresses: [a('5.6.7.8')],
        notReadyAddresses: [a('1.2.3.4'), a('1.2.3.4', podRef('uid-1')), a('5.6.7.8', podRef('uid-1'))],
        ports: [p(111)],
      },
    ],
  },
  {
    name: 'two sets, two ips, two ports',
    given: [
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
      { addresses: [a('5.6.7.8')], ports: [p(222)] },
    ],
    expect: [
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
      { addresses: [a('5.6.7.8')], ports: [p(222)] },
    ],
  },
  {
    name: 'four sets, three ips, three ports, jumbled',
    given: [
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
      { addresses: [a('1.2.3.5')], ports: [p(222)] },
      { addresses: [a('1.2.3.6')], ports: [p(111)] },
      { addresses: [a('1.2.3.5')], ports: [p(333)] },
    ],
    expect: [
      { addresses: [a('1.2.3.4'), a('1.2.3.6')], ports: [p(111)] },
      { addresses: [a('1.2.3.5')], ports: [p(222), p(333)] },
    ],
  },
  {
    name: 'four sets, three mixed ips, three ports, jumbled',
    given: [
      { addresses: [a('1.2.3.4')], ports: [p(111)] },
      { notReadyAddresses: [a('1.2.3.5')], ports: [p(222)] },
      { addresses: [a('1.2.3.6')], ports: [p(111)] },
      { notReadyAddresses: [a('1.2.3.5')], ports: [p(333)] },
    ],
    expect: [
      { addresses: [a('1.2.3.4'), a('1.2.3.6')], ports: [p(111)] },
      { notReadyAddresses: [a('1.2.3.5')], ports: [p(222), p(333)] },
    ],
  },
];

describe('endpoints.RepackSubsets — TestPackSubsets', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      const before = structuredClone(tc.given);
      expect(canon(repackSubsets(tc.given))).toEqual(canon(tc.expect));
      expect(tc.given).toEqual(before); // "Make a copy so we don't write to the input args"
    });
  }

  // Two addresses with the same IP and the same (empty) UID are one address; upstream keeps the first one it
  // saw ("finding the same address twice is considered an error on input, only the first address+port
  // reference is preserved"), so the surviving targetRef is foo's.
  it('one set, dup ips with target-refs, one port', () => {
    const given: Subset[] = [{ addresses: [a('1.2.3.4', fooObjRef), a('1.2.3.4', barObjRef)], ports: [p(111)] }];
    expect(canon(repackSubsets(given))).toEqual(canon([{ addresses: [a('1.2.3.4', fooObjRef)], ports: [p(111)] }]));
  });
  it('one set, dup mixed ips with target-refs, one port', () => {
    const given: Subset[] = [{ addresses: [a('1.2.3.4', fooObjRef)], notReadyAddresses: [a('1.2.3.4', barObjRef)], ports: [p(111)] }];
    expect(canon(repackSubsets(given))).toEqual(canon([{ notReadyAddresses: [a('1.2.3.4', fooObjRef)], ports: [p(111)] }]));
  });
});

describe('endpoints.LessEndpointAddress — address order within a subset', () => {
  // Not a TestPackSubsets case: the order SortSubsets gives (bytes.Compare on the IP text, then UID, an address
  // without a targetRef first), which the cases above only exercise on equal-length IPs.
  it('sorts IPs as bytes, not numerically', () => {
    const given: Subset[] = [{ addresses: [a('10.0.0.9'), a('10.0.0.10'), a('10.0.0.100'), a('9.0.0.1')], ports: [p(80)] }];
    const [s] = repackSubsets(given);
    expect(s.addresses!.map((x) => x.ip)).toEqual(['10.0.0.10', '10.0.0.100', '10.0.0.9', '9.0.0.1']);
  });
  it('orders same-IP addresses by targetRef UID, no targetRef first', () => {
    const given: Subset[] = [{ addresses: [a('1.2.3.4', podRef('b')), a('1.2.3.4', podRef('a')), a('1.2.3.4')], ports: [p(80)] }];
    const [s] = repackSubsets(given);
    expect(s.addresses).toEqual([a('1.2.3.4'), a('1.2.3.4', podRef('a')), a('1.2.3.4', podRef('b'))]);
  });
});
