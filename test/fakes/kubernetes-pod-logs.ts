/**
 * Container logs, as kubelet keeps them and `GET …/pods/NAME/log` serves them: tests write lines for
 * a container (its current run, or the previous one after a restart), and reads honour `container`,
 * `previous`, `sinceSeconds`, `tailLines`, `limitBytes` and `timestamps`, with kubelet's errors for a
 * missing container name, a container the pod does not have, a previous run that never was and a
 * container that has not started.
 */
import { asObject, type JsonObject } from "./kubernetes-rules.ts";
import { badRequest } from "./kubernetes-status.ts";

interface LogLine {
  readonly time: Date;
  readonly text: string;
}

export interface WriteLogOptions {
  /** The run before the last restart (`kubectl logs --previous`). */
  readonly previous?: boolean;
  /** When the lines were written; default now. */
  readonly time?: Date;
}

export interface PodLogs {
  /** Appends `text` (one or more lines) to a container's log. */
  write(namespace: string, pod: string, container: string, text: string, options?: WriteLogOptions): void;
  /** The log as the API serves it for `pod` (the stored object) and the request's query. */
  read(pod: JsonObject, query: Readonly<Record<string, string>>): string;
}

export function createPodLogs(): PodLogs {
  const logs = new Map<string, LogLine[]>();
  const keyOf = (namespace: string, pod: string, container: string, previous: boolean) =>
    `${namespace}/${pod}/${container}${previous ? "/previous" : ""}`;

  return {
    write(namespace, pod, container, text, options = {}) {
      const key = keyOf(namespace, pod, container, options.previous === true);
      const lines = logs.get(key) ?? [];
      const time = options.time ?? new Date();
      for (const line of text.replace(/\n$/, "").split("\n")) lines.push({ time, text: line });
      logs.set(key, lines);
    },
    read(pod, query) {
      const metadata = asObject(pod.metadata);
      const name = String(metadata.name);
      const container = containerOf(pod, query.container);
      const previous = query.previous === "true";
      const lines = logs.get(keyOf(String(metadata.namespace), name, container, previous));
      if (lines === undefined) {
        if (previous) {
          throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
        }
        const waiting = waitingReason(pod, container);
        if (waiting !== undefined) {
          throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${waiting}`);
        }
      }
      let selected = lines ?? [];
      if (query.sinceSeconds !== undefined) {
        const since = Date.now() - Number(query.sinceSeconds) * 1000;
        selected = selected.filter((line) => line.time.getTime() >= since);
      }
      if (query.tailLines !== undefined) selected = selected.slice(-Number(query.tailLines));
      const text = selected
        .map((line) =>
          query.timestamps === "true" ? `${rfc3339Nano(line.time)} ${line.text}\n` : `${line.text}\n`,
        )
        .join("");
      if (query.limitBytes === undefined) return text;
      return Buffer.from(text).subarray(0, Number(query.limitBytes)).toString("utf8");
    },
  };
}

function namesOf(containers: unknown): string[] {
  return (Array.isArray(containers) ? containers : []).map((container) => String(asObject(container).name));
}

function containerOf(pod: JsonObject, requested: string | undefined): string {
  const spec = asObject(pod.spec);
  const containers = namesOf(spec.containers);
  const initContainers = namesOf(spec.initContainers);
  const name = String(asObject(pod.metadata).name);
  if (requested === undefined || requested === "") {
    if (containers.length === 1 && initContainers.length === 0) return containers[0] as string;
    const init =
      initContainers.length === 0 ? "" : ` or one of the init containers: [${initContainers.join(" ")}]`;
    throw badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${containers.join(" ")}]${init}`,
    );
  }
  if (![...containers, ...initContainers].includes(requested)) {
    throw badRequest(`container ${requested} is not valid for pod ${name}`);
  }
  return requested;
}

/** The waiting reason of a container that has not run yet (no status counts as ContainerCreating). */
function waitingReason(pod: JsonObject, container: string): string | undefined {
  const status = asObject(pod.status);
  const statuses = [
    ...(Array.isArray(status.containerStatuses) ? status.containerStatuses : []),
    ...(Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : []),
  ].map(asObject);
  const found = statuses.find((entry) => entry.name === container);
  if (found === undefined) return "ContainerCreating";
  const waiting = asObject(asObject(found.state).waiting);
  return typeof waiting.reason === "string" ? waiting.reason : undefined;
}

function rfc3339Nano(time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}
