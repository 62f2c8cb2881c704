/**
 * What the launcher's Kubernetes tests share: the fake API server with its simulated Job controller,
 * Jobs as the webhook expands them, a Buildkite job source and failer that record what they are asked,
 * a clock the tests move, and the log lines.
 */
import { BatchV1Api, type V1Job } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import type { Clock } from "../../../launcher/kubernetes/clock.ts";
import { type ClusterApi, createClusterApi } from "../../../launcher/kubernetes/cluster-api.ts";
import {
  type FailJobRequest,
  JobAcquisitionRejectedError,
  type JobFailer,
  type JobSource,
  type JobState,
} from "../../../launcher/types.ts";
import type { Informer, InformerEvent, InformerListener } from "../../../runtime/informer.ts";
import { createLogger, type Logger } from "../../../runtime/logger.ts";
import type { Job } from "../../../src/generated/k8s-types.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../../fakes/kubernetes-api.ts";
import { renderJob, testConfig, testJob } from "../../support/fixtures.ts";
import { captureLogs, type LogCapture } from "../../webhook/harness.ts";

export { eventually } from "../../webhook/harness.ts";

export const NS = "default";

export function uuidOf(n: number): string {
  return `0195a2b0-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

export function jobNameOf(uuid: string): string {
  return `buildkite-${uuid}`;
}

/** A Job as the webhook expands it (agent, checkout, container-0, copy-agent), for `uuid`. */
export function expandedJob(uuid: string, change: (job: Job) => void = () => {}): Job {
  const job = renderJob(testJob({ uuid }), testConfig());
  change(job);
  return job;
}

export interface TestCluster {
  readonly fake: FakeKubernetes;
  readonly api: ClusterApi;
  readonly batch: BatchV1Api;
  readonly logs: LogCapture;
  readonly logger: Logger;
  readonly registry: Registry;
  createJob(job: Job): Promise<V1Job>;
  /** Sum of a metric's values for the labels given (all of them when none). */
  metric(name: string, labels?: Readonly<Record<string, string>>): Promise<number>;
  close(): Promise<void>;
}

export async function startTestCluster(): Promise<TestCluster> {
  const fake = await startFakeKubernetes();
  const kubeConfig = fake.kubeConfig();
  const logs = captureLogs();
  const logger = createLogger({
    name: "launcher",
    config: { logLevel: "debug", logFormat: "json" },
    destination: logs.stream,
  });
  const registry = new Registry();
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  return {
    fake,
    batch,
    logs,
    logger,
    registry,
    api: createClusterApi({
      kubeConfig,
      namespace: NS,
      timeoutMs: 5_000,
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 5 },
    }),
    createJob: (job) => batch.createNamespacedJob({ namespace: NS, body: job as V1Job }),
    async metric(name, labels = {}) {
      const metric = await registry.getSingleMetric(name)?.get();
      return (metric?.values ?? [])
        .filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))
        .reduce((sum, value) => sum + value.value, 0);
    },
    close: () => fake.close(),
  };
}

/** A clock the test moves; it starts at the real time, since the fake cluster stamps objects with it. */
export class ManualClock implements Clock {
  #offset = 0;
  now(): number {
    return Date.now() + this.#offset;
  }
  advance(ms: number): void {
    this.#offset += ms;
  }
}

/**
 * Buildkite as the watchers see it: a state per job (set by the test, `FINISHED` once a job is failed
 * through `RecordingFailer`), and every question asked.
 */
export class RecordingSource implements JobSource {
  readonly states = new Map<string, JobState | undefined>();
  readonly stateQueries: string[] = [];
  readonly cancelled: string[] = [];
  /** The next `jobState` calls throw this many times. */
  failures = 0;

  set(uuid: string, state: JobState | undefined): this {
    this.states.set(uuid, state);
    return this;
  }

  async scheduledJobs(): Promise<never[]> {
    return [];
  }

  async jobState(uuid: string): Promise<JobState | undefined> {
    this.stateQueries.push(uuid);
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error("Buildkite did not answer (test)");
    }
    return this.states.has(uuid) ? this.states.get(uuid) : "SCHEDULED";
  }

  async cancelJob(uuid: string): Promise<void> {
    this.cancelled.push(uuid);
    this.states.set(uuid, "CANCELING");
  }
}

/** A `RecordingSource` that also answers many jobs at once, counting the batch requests. */
export class BatchRecordingSource extends RecordingSource {
  readonly batches: string[][] = [];
  async jobStates(uuids: readonly string[]): Promise<ReadonlyMap<string, JobState | undefined>> {
    this.batches.push([...uuids]);
    return new Map(uuids.map((uuid) => [uuid, this.states.has(uuid) ? this.states.get(uuid) : "SCHEDULED"]));
  }
}

export class RecordingFailer implements JobFailer {
  readonly requests: FailJobRequest[] = [];
  /** What the next calls do: fail the job, refuse the acquire (422), or not answer. */
  mode: "fail" | "reject" | "error" = "fail";
  readonly #source: RecordingSource | undefined;
  constructor(source?: RecordingSource) {
    this.#source = source;
  }

  async failJob(request: FailJobRequest): Promise<void> {
    this.requests.push(request);
    if (this.mode === "reject") {
      throw new JobAcquisitionRejectedError(
        `job acquisition rejected: PUT https://agent.buildkite.com/v3/jobs/${request.uuid}/acquire: 422 Unprocessable Entity`,
      );
    }
    if (this.mode === "error")
      throw new Error("POST https://agent.buildkite.com/v3/register: 502 Bad Gateway");
    this.#source?.set(request.uuid, "FINISHED");
  }
}

/** An informer the test drives: it emits exactly what the test says, whatever the cluster holds. */
export class ManualInformer<S extends { name: string }> implements Informer<S> {
  readonly #cache = new Map<string, S>();
  readonly #listeners = new Set<InformerListener<S>>();
  start(): void {}
  async stop(): Promise<void> {}
  async synced(): Promise<void> {}
  ready(): boolean {
    return true;
  }
  hasSynced(): boolean {
    return true;
  }
  notReadyReason(): string | undefined {
    return undefined;
  }
  list(): readonly S[] {
    return [...this.#cache.values()];
  }
  get(name: string): S | undefined {
    return this.#cache.get(name);
  }
  subscribe(listener: InformerListener<S>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  emit(event: InformerEvent<S>): void {
    if (event.type === "delete") this.#cache.delete(event.object.name);
    else this.#cache.set(event.object.name, event.object);
    for (const listener of this.#listeners) listener(event);
  }
}
