// The objects that make a local cluster's aggregator reach an operator serving external metrics on
// loopback (the local cluster has no pod network): an ExternalName Service resolving to localhost, and the
// v1beta1.external.metrics.k8s.io APIService trusting the operator's serving certificate. Used by the demo
// and the autoscaling e2e suite; the chart renders the in-cluster equivalents.
import type { KubeObject } from '../kube/client.js';

export const EXTERNAL_METRICS_APISERVICE = 'v1beta1.external.metrics.k8s.io';

/** The Service (namespaced) and the APIService (cluster-scoped); `caBundle` is the serving CA, base64. */
export function loopbackMetricsApi(
  namespace: string,
  service: string,
  port: number,
  caBundle: string,
): { service: KubeObject; apiService: KubeObject } {
  return {
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: service, namespace },
      spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ port }] },
    },
    apiService: {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: EXTERNAL_METRICS_APISERVICE },
      spec: {
        group: 'external.metrics.k8s.io',
        version: 'v1beta1',
        service: { name: service, namespace, port },
        caBundle,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  };
}
