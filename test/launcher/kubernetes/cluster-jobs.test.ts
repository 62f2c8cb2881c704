import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createClusterJobs, type StackJobs } from "../../../launcher/kubernetes/cluster-jobs.ts";
import { stackLabelSelector } from "../../../launcher/kubernetes/selector.ts";
import { startFakeKubernetes } from "../../fakes/kubernetes-api.ts";
import {
  eventually,
  expandedJob,
  jobNameOf,
  NS,
  startTestCluster,
  type TestCluster,
  uuidOf,
} from "./helpers.ts";

let cluster: TestCluster;
let jobs: StackJobs | undefined;

beforeEach(async () => {
  cluster = await startTestCluster();
});

afterEach(async () => {
  await jobs?.stop();
  jobs = undefined;
  await cluster.close();
});

function start(id = "", backoff = { initialBackoffMs: 10, maxBackoffMs: 40 }): StackJobs {
  jobs = createClusterJobs({
    kubeConfig: cluster.fake.kubeConfig(),
    config: { namespace: NS, id },
    logger: cluster.logger,
    registry: cluster.registry,
    ...backoff,
  });
  jobs.start();
  return jobs;
}

describe("the label selector", () => {
  test("is upstream HEAD's: the uuid label and this stack's controller-id, or no controller-id", () => {
    expect(stackLabelSelector({ id: "" })).toBe("buildkite.com/job-uuid,!buildkite.com/controller-id");
    expect(stackLabelSelector({ id: "blue" })).toBe(
      "buildkite.com/job-uuid,buildkite.com/controller-id=blue",
    );
  });
});

describe("in flight, from the cluster", () => {
  test("Jobs that exist before the start are counted once the cache has synced", async () => {
    await cluster.createJob(expandedJob(uuidOf(1)));
    await cluster.createJob(expandedJob(uuidOf(2)));
    const stack = start();
    await stack.synced(AbortSignal.timeout(5_000));
    expect(stack.inFlight()).toBe(2);
    expect(stack.has(uuidOf(1))).toBe(true);
    expect(stack.has(uuidOf(3))).toBe(false);
    await eventually("ready", () => stack.ready());
  });

  test("a Job counts while unfinished, stays known once finished, and is forgotten once deleted", async () => {
    const stack = start();
    await stack.synced(AbortSignal.timeout(5_000));
    let changes = 0;
    stack.onChange(() => {
      changes += 1;
    });
    await cluster.createJob(expandedJob(uuidOf(1)));
    await eventually("the new Job", () => stack.inFlight() === 1);
    cluster.fake.cluster.runJob(NS, jobNameOf(uuidOf(1)), { phase: "Running" });
    cluster.fake.cluster.runJob(NS, jobNameOf(uuidOf(1)), { phase: "Succeeded" });
    await eventually("the Job to finish", () => stack.inFlight() === 0);
    expect(stack.has(uuidOf(1))).toBe(true);
    await cluster.batch.deleteNamespacedJob({ namespace: NS, name: jobNameOf(uuidOf(1)) });
    await eventually("the Job to go", () => !stack.has(uuidOf(1)));
    expect(changes).toBeGreaterThanOrEqual(3);
  });

  test("a Failed condition is finished whatever its status, as upstream reads it", async () => {
    const stack = start();
    await stack.synced(AbortSignal.timeout(5_000));
    await cluster.createJob(expandedJob(uuidOf(1)));
    await eventually("the new Job", () => stack.inFlight() === 1);
    cluster.fake.cluster.finishJob(NS, jobNameOf(uuidOf(1)), { type: "Failed", reason: "DeadlineExceeded" });
    await eventually("the Job to finish", () => stack.inFlight() === 0);
  });

  test("Jobs of other stacks, and Jobs without a job uuid, do not count", async () => {
    await cluster.createJob(expandedJob(uuidOf(1)));
    await cluster.createJob(
      expandedJob(uuidOf(2), (job) => {
        job.metadata!.labels!["buildkite.com/controller-id"] = "other";
      }),
    );
    await cluster.createJob(
      expandedJob(uuidOf(3), (job) => {
        delete job.metadata!.labels!["buildkite.com/job-uuid"];
      }),
    );
    const stack = start();
    await stack.synced(AbortSignal.timeout(5_000));
    expect(stack.inFlight()).toBe(1);
    expect(stack.has(uuidOf(2))).toBe(false);
    await stack.stop();
    const other = start("other");
    await other.synced(AbortSignal.timeout(5_000));
    expect(other.inFlight()).toBe(1);
    expect(other.has(uuidOf(2))).toBe(true);
  });

  test("a job that asks for fewer tags than the stack has is still seen (quirk Q2 fixed)", async () => {
    // Upstream v0.26.0 selected on every controller tag: this Job, with only the queue tag, was invisible.
    await cluster.createJob(
      expandedJob(uuidOf(1), (job) => {
        job.metadata!.labels = {
          "buildkite.com/job-uuid": uuidOf(1),
          "tag.buildkite.com/queue": "kubernetes",
        };
      }),
    );
    const stack = start();
    await stack.synced(AbortSignal.timeout(5_000));
    expect(stack.inFlight()).toBe(1);
  });
});

describe("watch failures", () => {
  test("a dropped watch that cannot reconnect makes it not ready; it catches up on what happened meanwhile", async () => {
    await cluster.createJob(expandedJob(uuidOf(1)));
    const stack = start();
    await stack.synced(AbortSignal.timeout(5_000));
    await eventually("ready", () => stack.ready());
    let broken = true;
    cluster.fake.failNext(10_000, 500, { match: (_method, path) => broken && path.includes("watch=true") });
    cluster.fake.closeWatches();
    await eventually("not ready", () => !stack.ready());
    expect(stack.notReadyReason()).toMatch(/^the Jobs watch is restarting after: /);
    await cluster.batch.deleteNamespacedJob({ namespace: NS, name: jobNameOf(uuidOf(1)) });
    await cluster.createJob(expandedJob(uuidOf(2)));
    broken = false;
    await eventually("ready again", () => stack.ready());
    await eventually(
      "the changes made during the outage",
      () => stack.has(uuidOf(2)) && !stack.has(uuidOf(1)),
    );
    expect(stack.inFlight()).toBe(1);
    expect(await cluster.metric("buildkite_informer_restarts_total", { resource: "jobs" })).toBeGreaterThan(
      0,
    );
  });

  test("a resourceVersion that expired while disconnected is a relist that reports the deletions", async () => {
    const small = await startFakeKubernetes({ watchHistory: 2 });
    try {
      const batch = small.kubeConfig().makeApiClient((await import("@kubernetes/client-node")).BatchV1Api);
      const create = (n: number) =>
        batch.createNamespacedJob({ namespace: NS, body: expandedJob(uuidOf(n)) as never });
      await create(1);
      jobs = createClusterJobs({
        kubeConfig: small.kubeConfig(),
        config: { namespace: NS, id: "" },
        logger: cluster.logger,
        registry: cluster.registry,
        initialBackoffMs: 10,
      });
      jobs.start();
      const stack = jobs;
      await stack.synced(AbortSignal.timeout(5_000));
      await eventually("ready", () => stack.ready());
      let broken = true;
      small.failNext(10_000, 503, { match: (_method, path) => broken && path.includes("watch=true") });
      small.closeWatches();
      await eventually("not ready", () => !stack.ready());
      await batch.deleteNamespacedJob({ namespace: NS, name: jobNameOf(uuidOf(1)) });
      for (let n = 2; n <= 5; n += 1) await create(n);
      broken = false;
      await eventually("the relist", () => stack.inFlight() === 4 && !stack.has(uuidOf(1)));
      expect(
        small.requests.filter((request) => request.method === "GET" && !request.path.includes("watch"))
          .length,
      ).toBe(2);
    } finally {
      await jobs?.stop();
      jobs = undefined;
      await small.close();
    }
  });

  test("a failing first list delays synced until a list succeeds", async () => {
    cluster.fake.failNext(2, 500, { match: (method, path) => method === "GET" && !path.includes("watch") });
    const stack = start();
    expect(stack.notReadyReason()).toMatch(/^waiting for the first list of Jobs/);
    await stack.synced(AbortSignal.timeout(5_000));
    expect(stack.inFlight()).toBe(0);
    expect(await cluster.metric("buildkite_informer_restarts_total")).toBe(2);
  });

  test("the cache keeps only what is read: a stripped snapshot per Job", async () => {
    await cluster.createJob(expandedJob(uuidOf(1)));
    const stack = start();
    await stack.synced(AbortSignal.timeout(5_000));
    const snapshot = stack.jobs.get(jobNameOf(uuidOf(1)));
    expect(snapshot).toMatchObject({
      uuid: uuidOf(1),
      tags: ["queue=kubernetes"],
      finished: false,
      active: 0,
    });
    expect(JSON.stringify(snapshot)).not.toContain("containers");
  });

  test("stopping does not wait for a watch the API server never answers", async () => {
    const hanging = createServer((request, response) => {
      if (request.url?.includes("watch=true")) return;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          kind: "JobList",
          apiVersion: "batch/v1",
          metadata: { resourceVersion: "5" },
          items: [],
        }),
      );
    });
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    try {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromOptions({
        clusters: [
          {
            name: "c",
            server: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`,
            skipTLSVerify: true,
          },
        ],
        users: [{ name: "u" }],
        contexts: [{ name: "x", cluster: "c", user: "u" }],
        currentContext: "x",
      });
      const stack = createClusterJobs({
        kubeConfig,
        config: { namespace: NS, id: "" },
        logger: cluster.logger,
        registry: cluster.registry,
      });
      stack.start();
      await stack.synced(AbortSignal.timeout(5_000));
      expect(stack.ready()).toBe(false);
      await stack.stop();
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });
});
