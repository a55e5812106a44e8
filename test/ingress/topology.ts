// One topology for the controller tests: Services with two, one, zero and silent endpoints, and Ingresses over them.
import { NODES3, NO_COREDNS } from '../helpers/cluster.ts';

const pod = (name: string, app: string, node: string, port = 8080) =>
  `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, labels: {app: ${app}}}\nspec: {nodeName: ${node}, containers: [{name: c, ports: [{containerPort: ${port}}]}]}\n`;
const service = (name: string, app: string, portName = 'http') =>
  `---\napiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec: {selector: {app: ${app}}, ports: [{name: ${portName}, port: 80, targetPort: 8080}]}\n`;

export const CONTROLLER_TOPOLOGY =
  NODES3 +
  NO_COREDNS +
  pod('web-1', 'web', 'node1') +
  pod('web-2', 'web', 'node2') +
  pod('api-1', 'api', 'node3') +
  pod('canary-1', 'canary', 'node1') +
  pod('refusing-1', 'refusing', 'node2') +
  pod('slow-1', 'slow', 'node3') +
  pod('flaky-1', 'flaky', 'node1') +
  pod('flaky-2', 'flaky', 'node2') +
  service('web', 'web') +
  service('api', 'api') +
  service('canary', 'canary') +
  service('empty', 'nobody') +
  service('refusing', 'refusing') +
  service('slow', 'slow') +
  service('flaky', 'flaky') +
  `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  tls: [{hosts: [secure.example], secretName: secure-tls}]
  rules:
    - host: web.example
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
          - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
          - {path: /empty, pathType: Prefix, backend: {service: {name: empty, port: {number: 80}}}}
          - {path: /missing, pathType: Prefix, backend: {service: {name: missing, port: {number: 80}}}}
          - {path: /refusing, pathType: Prefix, backend: {service: {name: refusing, port: {number: 80}}}}
          - {path: /flaky, pathType: Prefix, backend: {service: {name: flaky, port: {number: 80}}}}
    - host: secure.example
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: slow
  annotations: {nginx.ingress.kubernetes.io/proxy-read-timeout: "1"}
spec:
  rules:
    - host: slow.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: slow, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: foreign
spec:
  ingressClassName: traefik
  rules:
    - host: foreign.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rewrite
  annotations:
    nginx.ingress.kubernetes.io/use-regex: "true"
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  rules:
    - host: rewrite.example
      http: {paths: [{path: /something(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: private
  annotations:
    nginx.ingress.kubernetes.io/whitelist-source-range: 10.0.0.0/8
    nginx.ingress.kubernetes.io/force-ssl-redirect: "false"
spec:
  rules:
    - host: private.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: forced
  annotations: {nginx.ingress.kubernetes.io/force-ssl-redirect: "true"}
spec:
  rules:
    - host: forced.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
    - host: shop.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop-canary
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-by-header: x-canary
spec:
  rules:
    - host: shop.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: canary, port: {number: 80}}}}]}
`;
