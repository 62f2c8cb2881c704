/** The scheduler: priorities, max-in-flight from the cluster, concurrency, and each create outcome. */
import { PassThrough } from "node:stream";
import { Registry } from "prom-client";
import { describe, expect, test } from "vitest";
import { createLauncherMetrics } from "../../launcher/metrics.ts";
import { type ScheduledJob, Scheduler, type SchedulerClock } from "../../launcher/scheduler.ts";
import {
  type ClusterJobs,
  type CreateOutcome,
  type FailJobRequest,
  JobAcquisitionRejectedError,
  type JobCreator,
  type JobFailer,
} from "../../launcher/types.ts";
import { createLogger } from "../../runtime/logger.ts";
import { createRateLimiter } from "../../runtime/rate-limiter.ts";
import type { BuildkiteJob } from "../../src/buildkite/job.ts";
import { testJob } from "../support/fixtures.ts";

class FakeCluster implements ClusterJobs {
  readonly jobs = new Map<string, { finished: boolean }>();
  readonly #listeners = new Set<() => void>();
  async synced(): Promise<void> {}
  inFlight(): number {
    return [...this.jobs.values()].filter((job) => !job.finished).length;
  }
  has(uuid: string): boolean {
    return this.jobs.has(uuid);
  }
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(uuid: string, finished: boolean): void {
    this.jobs.set(uuid, { finished });
    for (const listener of this.#listeners) listener();
  }
}

/** A clock whose time only moves when the test says so; sleeps resolve as it passes them. */
function manualClock(): SchedulerClock & { advance(ms: number): Promise<void> } {
  let time = 0;
  const sleepers: Array<{ until: number; resolve: () => void }> = [];
  return {
    now: () => time,
    wallNow: () => 1_700_000_000_000 + time,
    random: () => 0.5,
    sleep(ms, signal) {
      return new Promise((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        const sleeper = { until: time + ms, resolve };
        sleepers.push(sleeper);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    },
    async advance(ms) {
      time += ms;
      for (const sleeper of sleepers.filter((s) => s.until <= time)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.resolve();
      }
      await settle();
    },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Harness {
  readonly scheduler: Scheduler;
  readonly cluster: FakeCluster;
  readonly created: string[];
  readonly failed: FailJobRequest[];
  readonly clock: ReturnType<typeof manualClock>;
  readonly registry: Registry;
  readonly stop: () => Promise<void>;
  readonly logs: () => string;
  /** Creates per uuid, whatever their outcome. */
  readonly attempts: Map<string, number>;
  /** With `watchDelayed`: shows the Jobs created so far to the scheduler, as a late watch event does. */
  readonly deliverWatchEvents: () => void;
  maxConcurrent: number;
}

function harness(options: {
  maxInFlight?: number;
  concurrency?: number;
  outcome?: (job: BuildkiteJob, attempt: number) => CreateOutcome | Promise<CreateOutcome>;
  fail?: (request: FailJobRequest, attempt: number) => Promise<void>;
  /** Created Jobs reach the cluster view only when the test delivers the watch events. */
  watchDelayed?: boolean;
}): Harness {
  const cluster = new FakeCluster();
  const clock = manualClock();
  const created: string[] = [];
  const failed: FailJobRequest[] = [];
  const attempts = new Map<string, number>();
  const undelivered: string[] = [];
  const failAttempts = new Map<string, number>();
  let concurrent = 0;
  const state = { maxConcurrent: 0 };
  const creator: JobCreator = {
    async create(job) {
      concurrent += 1;
      state.maxConcurrent = Math.max(state.maxConcurrent, concurrent);
      const attempt = (attempts.get(job.uuid) ?? 0) + 1;
      attempts.set(job.uuid, attempt);
      try {
        await new Promise((resolve) => setImmediate(resolve));
        const outcome = (await options.outcome?.(job, attempt)) ?? { kind: "created" };
        if (outcome.kind === "created") {
          created.push(job.uuid);
          if (options.watchDelayed) undelivered.push(job.uuid);
          else cluster.set(job.uuid, false);
        }
        return outcome;
      } finally {
        concurrent -= 1;
      }
    },
  };
  const failer: JobFailer = {
    async failJob(request) {
      const attempt = (failAttempts.get(request.uuid) ?? 0) + 1;
      failAttempts.set(request.uuid, attempt);
      await options.fail?.(request, attempt);
      failed.push(request);
    },
  };
  const stream = new PassThrough();
  let logText = "";
  stream.on("data", (chunk: Buffer) => {
    logText += chunk.toString();
  });
  const logger = createLogger({
    name: "launcher",
    config: { logLevel: "debug", logFormat: "json" },
    destination: stream,
  });
  const registry = new Registry();
  let scheduler: Scheduler | undefined;
  const metrics = createLauncherMetrics(registry, () => scheduler?.inFlight() ?? 0, options.maxInFlight ?? 0);
  scheduler = new Scheduler({
    cluster,
    creator,
    failer,
    rateLimiter: createRateLimiter({ qps: 0, burst: 0 }),
    config: {
      maxInFlight: options.maxInFlight ?? 0,
      jobCreationConcurrency: options.concurrency ?? 2,
      jobPrefix: "buildkite-",
    },
    logger,
    metrics,
    clock,
  });
  cluster.onChange(() => scheduler?.clusterChanged());
  const controller = new AbortController();
  const running = scheduler.run(controller.signal);
  return {
    scheduler,
    cluster,
    created,
    failed,
    clock,
    registry,
    logs: () => logText,
    attempts,
    deliverWatchEvents: () => {
      for (const uuid of undelivered.splice(0)) cluster.set(uuid, false);
    },
    get maxConcurrent() {
      return state.maxConcurrent;
    },
    set maxConcurrent(_value: number) {},
    stop: async () => {
      controller.abort(new Error("test over"));
      await running;
    },
  };
}

const job = (n: number, priority = 0): ScheduledJob => ({
  job: testJob({ uuid: `0000000${n}-0000-4000-8000-000000000000`, priority }),
  seenAt: 0,
});

test("higher priority first, then Buildkite's order", async () => {
  const h = harness({ concurrency: 1 });
  h.scheduler.offer([job(1), job(2, 5), job(3), job(4, 5)]);
  await settle();
  await h.clock.advance(10);
  expect(h.created.map((uuid) => uuid[7])).toEqual(["2", "4", "1", "3"]);
  await h.stop();
});

test("max-in-flight counts unfinished Jobs in the cluster, whoever created them", async () => {
  const h = harness({ maxInFlight: 2, concurrency: 4 });
  h.cluster.set("someone-elses-job", false);
  h.scheduler.offer([job(1), job(2), job(3)]);
  await settle();
  expect(h.created.length).toBe(1);
  expect(h.scheduler.inFlight()).toBe(2);
  h.cluster.set("someone-elses-job", true);
  await settle();
  expect(h.created.length).toBe(2);
  h.cluster.jobs.delete(h.created[0]!);
  h.cluster.set(h.created[1]!, true);
  await settle();
  expect(h.created.length).toBe(3);
  await h.stop();
});

test("no more creates at once than job-creation-concurrency", async () => {
  const h = harness({ concurrency: 3 });
  h.scheduler.offer(Array.from({ length: 9 }, (_, i) => job(i + 1)));
  await settle();
  await h.clock.advance(10);
  expect(h.created.length).toBe(9);
  expect(h.maxConcurrent).toBe(3);
  await h.stop();
});

test("a job whose Job exists, or that is offered twice, is created once", async () => {
  const h = harness({ concurrency: 2 });
  h.cluster.set(job(1).job.uuid, false);
  h.scheduler.offer([job(1), job(2), job(2)]);
  await settle();
  h.scheduler.offer([job(1), job(2)]);
  await settle();
  expect(h.created).toEqual([job(2).job.uuid]);
  await h.stop();
});

test("a poll that answers between a create and its watch event does not create the Job again", async () => {
  const h = harness({ watchDelayed: true, maxInFlight: 5 });
  h.scheduler.offer([job(1), job(2)]);
  await settle();
  expect(h.created).toEqual([job(1).job.uuid, job(2).job.uuid]);
  // Buildkite still lists both as scheduled; the informer has not seen either Job yet.
  for (let poll = 0; poll < 3; poll++) {
    h.scheduler.offer([job(1), job(2), job(3)]);
    await settle();
    await h.clock.advance(1_000);
  }
  expect([...h.attempts.entries()]).toEqual([
    [job(1).job.uuid, 1],
    [job(2).job.uuid, 1],
    [job(3).job.uuid, 1],
  ]);
  expect(h.scheduler.inFlight()).toBe(3);
  h.deliverWatchEvents();
  h.scheduler.offer([job(1), job(2), job(3)]);
  await settle();
  expect(h.scheduler.inFlight()).toBe(3);
  expect(h.created).toHaveLength(3);
  await h.stop();
});

test("a Job that is not seen within a minute is offered again (bounded memory), and AlreadyExists ends it", async () => {
  const h = harness({
    watchDelayed: true,
    outcome: (_job, attempt) => (attempt === 1 ? { kind: "created" } : { kind: "exists" }),
  });
  h.scheduler.offer([job(1)]);
  await settle();
  await h.clock.advance(61_000);
  h.scheduler.offer([job(1)]);
  await settle();
  expect(h.attempts.get(job(1).job.uuid)).toBe(2);
  h.scheduler.offer([job(1)]);
  await settle();
  expect(h.attempts.get(job(1).job.uuid)).toBe(2);
  expect(h.failed).toEqual([]);
  await h.stop();
});

test("AlreadyExists is not an error: another launcher won", async () => {
  const h = harness({ outcome: () => ({ kind: "exists" }) });
  h.scheduler.offer([job(1)]);
  await settle();
  expect(h.failed).toEqual([]);
  await h.stop();
});

describe("a refused Job fails the Buildkite job with the reason", () => {
  test.each([
    [
      "denied",
      "agent-stack-k8s failed to parse the job: the kubernetes plugin is prohibited by this controller",
    ],
    ["invalid", "Kubernetes rejected the podSpec built by agent-stack-k8s: failed to create job: …"],
  ] as const)("%s", async (kind, message) => {
    const h = harness({ outcome: () => ({ kind, message }) });
    h.scheduler.offer([job(1)]);
    await settle();
    expect(h.failed).toEqual([
      {
        uuid: job(1).job.uuid,
        agentName: `buildkite-${job(1).job.uuid}`,
        tags: ["queue=kubernetes"],
        message,
      },
    ]);
    await h.stop();
  });

  test("a job Buildkite no longer lets anyone acquire is left alone", async () => {
    const h = harness({
      outcome: () => ({ kind: "denied", message: "bad" }),
      fail: async () => {
        throw new JobAcquisitionRejectedError("job acquisition rejected: 422");
      },
    });
    h.scheduler.offer([job(1)]);
    await settle();
    await h.clock.advance(120_000);
    expect(h.logs()).toContain("Buildkite no longer lets the job be acquired");
    expect(h.failed).toEqual([]);
    await h.stop();
  });

  test("failing it is retried when Buildkite is down, and succeeds later", async () => {
    const h = harness({
      outcome: () => ({ kind: "denied", message: "bad" }),
      fail: async (_request, attempt) => {
        if (attempt < 3) throw new Error("connect ECONNREFUSED");
      },
    });
    h.scheduler.offer([job(1)]);
    await settle();
    expect(h.failed).toEqual([]);
    await h.clock.advance(1_200);
    await h.clock.advance(2_400);
    expect(h.failed.length).toBe(1);
    await h.stop();
  });
});

test("our own outage never fails the job: retried with back-off until the webhook is back", async () => {
  const h = harness({
    outcome: (_job, attempt) =>
      attempt < 4
        ? { kind: "retry", message: 'failed calling webhook "expand.buildkite.com": connection refused' }
        : { kind: "created" },
  });
  h.scheduler.offer([job(1)]);
  await settle();
  expect(h.created).toEqual([]);
  await h.clock.advance(999); // first back-off is 1 s (jitter 0 at random 0.5)
  expect(h.created).toEqual([]);
  await h.clock.advance(1);
  await h.clock.advance(2_000);
  await h.clock.advance(4_000);
  expect(h.created).toEqual([job(1).job.uuid]);
  expect(h.failed).toEqual([]);
  await h.stop();
});

test("Retry-After is honoured", async () => {
  const h = harness({
    outcome: (_job, attempt) =>
      attempt === 1 ? { kind: "retry", message: "429", retryAfterMs: 30_000 } : { kind: "created" },
  });
  h.scheduler.offer([job(1)]);
  await settle();
  await h.clock.advance(29_000);
  expect(h.created).toEqual([]);
  await h.clock.advance(1_000);
  expect(h.created.length).toBe(1);
  await h.stop();
});

test("a job that leaves the poll leaves the queue", async () => {
  const h = harness({ maxInFlight: 1 });
  h.cluster.set("busy", false);
  h.scheduler.offer([job(1), job(2)]);
  await settle();
  h.scheduler.offer([job(2)]);
  h.cluster.set("busy", true);
  await settle();
  expect(h.created).toEqual([job(2).job.uuid]);
  await h.stop();
});

test("latency is measured from the first poll that returned the job", async () => {
  const h = harness({ maxInFlight: 1 });
  h.cluster.set("busy", false);
  h.scheduler.offer([{ ...job(1), seenAt: 0, scheduledAt: 1_700_000_000_000 - 5_000 }]);
  await h.clock.advance(3_000);
  h.scheduler.offer([{ ...job(1), seenAt: 3_000, scheduledAt: 1_700_000_000_000 - 5_000 }]);
  h.cluster.set("busy", true);
  await settle();
  const metrics = await h.registry.getMetricsAsJSON();
  const sum = (name: string) =>
    metrics
      .find((metric) => metric.name === name)
      ?.values.find((value) => (value as { metricName?: string }).metricName === `${name}_sum`)?.value;
  expect(sum("buildkite_job_end_to_end_seconds")).toBe(3);
  expect(sum("buildkite_job_scheduled_to_created_seconds")).toBe(8);
  await h.stop();
});

test("stopping waits for the create under way", async () => {
  let release: () => void = () => undefined;
  const h = harness({
    outcome: () =>
      new Promise<CreateOutcome>((resolve) => {
        release = () => resolve({ kind: "created" });
      }),
  });
  h.scheduler.offer([job(1)]);
  await settle();
  const stopping = h.stop();
  let stopped = false;
  void stopping.then(() => {
    stopped = true;
  });
  await settle();
  expect(stopped).toBe(false);
  release();
  await stopping;
  expect(h.created.length).toBe(1);
});

describe("drain, after run has stopped: the jobs still queued", () => {
  test("are created, a job in back-off once its back-off has passed; nothing is left", async () => {
    const h = harness({
      concurrency: 1,
      outcome: (job, attempt) =>
        job.uuid.startsWith("00000001") && attempt === 1
          ? { kind: "retry", message: "429", retryAfterMs: 2_000 }
          : { kind: "created" },
    });
    h.scheduler.offer([job(1)]);
    await settle();
    await h.stop();
    // Stopped with job 1 in back-off; a last list of the jobs held comes in.
    h.scheduler.offer([job(1), job(2), job(3)]);
    const draining = h.scheduler.drain(new AbortController().signal);
    await settle();
    expect(h.created).toEqual([job(2).job.uuid, job(3).job.uuid]);
    await h.clock.advance(2_000);
    expect(await draining).toEqual([]);
    expect(h.created).toEqual([job(2).job.uuid, job(3).job.uuid, job(1).job.uuid]);
  });

  test("ends when its signal does, saying which jobs are left", async () => {
    const h = harness({ maxInFlight: 1 });
    h.cluster.set("busy", false);
    await h.stop();
    h.scheduler.offer([job(1), job(2)]);
    const budget = new AbortController();
    const draining = h.scheduler.drain(budget.signal);
    await settle();
    expect(h.created).toEqual([]);
    budget.abort(new Error("out of time"));
    expect(await draining).toEqual([job(1).job.uuid, job(2).job.uuid]);
  });
});
