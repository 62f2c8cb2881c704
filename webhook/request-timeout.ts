/**
 * The budget of one admission request, from its first byte to the answer. kube-apiserver gives up on
 * a webhook after its `timeoutSeconds` (10 s in the chart, 30 s at most), so the default stays a second
 * under the chart's and no value may pass kube-apiserver's limit.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 9_000;

/** kube-apiserver's own limit on a webhook's timeoutSeconds. */
export const MAX_REQUEST_TIMEOUT_MS = 30_000;
