/**
 * Kubernetes Events about the webhook's own pod (an invalid reloaded configuration), where `kubectl
 * describe pod` and cluster event pipelines show them. Like client-go's recorder, a repeat of the same reason and message raises the
 * count of the Event already written instead of adding one. Recording never fails the caller: an Event
 * that cannot be written is logged (once per distinct error), with a timeout and no retry beyond the
 * next occurrence.
 */
import type { CoreV1Event, KubeConfig } from "@kubernetes/client-node";
import { callKube, kubeClient } from "../runtime/kube.ts";
import { isKubeApiError, KubeErrorKind } from "../runtime/kube-api-error.ts";
import { loggableText } from "../runtime/log-values.ts";
import type { Logger } from "../runtime/logger.ts";
import type { PodReference } from "./pod-reference.ts";

export interface EventRecorder {
  /** A `Warning` Event on the pod; resolves when written (or given up on). */
  warning(reason: string, message: string): Promise<void>;
}

export interface EventRecorderOptions {
  readonly kubeConfig: KubeConfig;
  readonly pod: PodReference;
  /** `source.component` / `reportingComponent`: `agent-stack-k8s-webhook`. */
  readonly component: string;
  readonly logger: Logger;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

const DEFAULT_TIMEOUT_MS = 5_000;
/** What `kubectl describe` shows comfortably; the API server itself would take more. */
const MAX_MESSAGE = 1_024;

export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  const { pod, component, logger } = options;
  const client = kubeClient(options.kubeConfig);
  const ns = encodeURIComponent(pod.namespace);
  const now = options.now ?? (() => new Date());
  const call = {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
  };
  let lastFailure: string | undefined;
  const failed = (error: unknown) => {
    const detail = error instanceof Error ? error.message : String(error);
    if (detail === lastFailure) return;
    lastFailure = detail;
    logger.warn(
      { pod: `${pod.namespace}/${pod.name}`, err: detail },
      "cannot write an Event on the pod (logged again only if the error changes)",
    );
  };
  /** The Event written for each reason and message, and its count. */
  const written = new Map<string, { name: string; count: number }>();

  const create = async (reason: string, message: string, time: Date) => {
    const body: CoreV1Event = {
      metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
      involvedObject: {
        apiVersion: "v1",
        kind: "Pod",
        name: pod.name,
        namespace: pod.namespace,
        ...(pod.uid ? { uid: pod.uid } : {}),
      },
      reason,
      message,
      type: "Warning",
      count: 1,
      firstTimestamp: time,
      lastTimestamp: time,
      source: { component },
      reportingComponent: component,
      reportingInstance: pod.name,
    };
    const created = await callKube(
      `create Event for pod ${pod.namespace}/${pod.name}`,
      (signal) =>
        client.request<CoreV1Event>(
          { method: "POST", path: `/api/v1/namespaces/${ns}/events`, body },
          signal,
        ),
      call,
    );
    return created?.metadata?.name ?? "";
  };

  const raiseCount = (name: string, count: number, time: Date) =>
    callKube(
      `update Event ${pod.namespace}/${name}`,
      (signal) =>
        client.request(
          {
            method: "PATCH",
            path: `/api/v1/namespaces/${ns}/events/${encodeURIComponent(name)}`,
            body: [
              { op: "replace", path: "/count", value: count },
              { op: "replace", path: "/lastTimestamp", value: time.toISOString() },
            ],
            discardBody: true,
          },
          signal,
        ),
      call,
    );

  return {
    async warning(reason, text) {
      const message = loggableText(text, MAX_MESSAGE);
      const key = `${reason}\u0000${message}`;
      const time = now();
      try {
        const previous = written.get(key);
        if (previous !== undefined) {
          try {
            await raiseCount(previous.name, previous.count + 1, time);
            written.set(key, { name: previous.name, count: previous.count + 1 });
            lastFailure = undefined;
            return;
          } catch (error) {
            // Events expire (an hour by default): write a new one.
            if (!isKubeApiError(error, KubeErrorKind.NotFound)) throw error;
          }
        }
        written.clear();
        written.set(key, { name: await create(reason, message, time), count: 1 });
        lastFailure = undefined;
      } catch (error) {
        failed(error);
      }
    },
  };
}
