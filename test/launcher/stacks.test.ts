/**
 * The launcher with the Stacks API (job-source stacks), end to end against the fakes: what only this
 * source does. It starts with the agent token alone; refuses an unclustered token; follows a rotated
 * token and stops on a refused one; creates what it reserved before it stops, and deregisters; a killed
 * launcher's reservations come back when they expire; a job cancelled on Buildkite loses its waiting Job
 * (`get-states`); an image that an agent's pod cannot pull is noted on the job's page.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { UNCLUSTERED_TOKEN_MESSAGE } from "../../launcher/buildkite/token-cluster.ts";
import { containerState } from "../fakes/kubernetes-kubelet.ts";
import { eventually, freePort } from "../webhook/harness.ts";
import {
  AGENT_TOKEN_SECRET,
  addJob,
  type Fakes,
  jobsInCluster,
  NS,
  STACK_KEY,
  startFakes,
  startLauncher,
  uuidsInCluster,
} from "./harness.ts";

const CLI = new URL("../../bin/agent-stack-k8s.js", import.meta.url).pathname;
const CREATED_NOTE = "K8s Job created successfully, waiting for Agent to start...";

let fakes: Fakes;

beforeEach(async () => {
  fakes = await startFakes();
});

afterEach(async () => {
  await fakes.close();
});

function putAgentToken(token: string): void {
  fakes.kubernetes.put({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: AGENT_TOKEN_SECRET, namespace: NS },
    data: { BUILDKITE_AGENT_TOKEN: Buffer.from(token).toString("base64") },
  });
}

test("started with the agent token alone (no org, no API token), it runs jobs end to end", async () => {
  const jobs = Array.from({ length: 10 }, (_, i) => addJob(fakes, { command: `echo ${i}` }));
  const launcher = startLauncher(fakes, undefined);
  try {
    await eventually("10 Jobs", () => jobsInCluster(fakes).length === 10, 20_000);
    await eventually(
      "a note on each job's page",
      () => jobs.every((job) => fakes.buildkite.job(job.uuid)?.notifications.length === 1),
      10_000,
    );
  } finally {
    expect(await launcher.stop()).toBe(0);
  }
  const start = launcher.records().find((line) => line.jobSource !== undefined);
  expect(start).toMatchObject({
    msg: "finding jobs through Buildkite's Stacks API, with the agent token alone (job-source stacks)",
    reason: "job-source is empty and buildkite-token is not set",
  });
  expect(uuidsInCluster(fakes)).toEqual(new Set(jobs.map((job) => job.uuid)));
  for (const job of jobs) {
    const stored = fakes.buildkite.job(job.uuid);
    expect(stored?.state).toBe("RESERVED");
    expect(stored?.reservedBy).toBe(STACK_KEY);
    expect(stored?.notifications.map((note) => note.detail)).toEqual([CREATED_NOTE]);
  }
  // The stack was registered for the queue tag's queue, and deregistered when the launcher stopped.
  expect(fakes.buildkite.stack(STACK_KEY)).toMatchObject({ queueKey: "kubernetes", state: "disconnected" });
  const calls = fakes.buildkite.calls;
  expect(calls.some((call) => call.kind === "graphql")).toBe(false);
  expect(calls.map((call) => call.operation).slice(0, 2)).toEqual(["token", "register stack"]);
  expect(calls.at(-1)?.operation).toBe("deregister stack");
  for (const call of calls) {
    expect(call.headers.authorization).toBe(`Token ${fakes.buildkite.agentToken}`);
    expect(call.status).toBe(200);
  }
  expect(launcher.logs()).not.toContain(fakes.buildkite.agentToken);
});

test("an unclustered agent token is refused before anything starts: exit 1 with upstream's message", async () => {
  await fakes.close();
  fakes = await startFakes({ agentTokenCluster: null });
  addJob(fakes);
  const launcher = startLauncher(fakes, undefined);
  expect(await launcher.exit).toBe(1);
  expect(launcher.logs()).toContain(UNCLUSTERED_TOKEN_MESSAGE);
  expect(launcher.logs()).toContain(`key BUILDKITE_AGENT_TOKEN of Secret ${NS}/${AGENT_TOKEN_SECRET}`);
  expect(fakes.buildkite.stacks).toEqual([]);
  expect(fakes.buildkite.calls.map((call) => call.operation)).toEqual(["token"]);
  expect(fakes.kubernetes.requests.some((request) => request.path.includes("/jobs"))).toBe(false);
});

test("a rotated agent token is read again from its Secret when Buildkite refuses the old one", async () => {
  const before = addJob(fakes);
  const launcher = startLauncher(fakes, undefined);
  try {
    await eventually("the first Job", () => jobsInCluster(fakes).length === 1, 20_000);
    fakes.buildkite.rotateAgentToken("rotated-agent-token");
    putAgentToken("rotated-agent-token");
    const after = addJob(fakes);
    await eventually("the second Job", () => uuidsInCluster(fakes).has(after.uuid), 20_000);
    expect(uuidsInCluster(fakes).has(before.uuid)).toBe(true);
  } finally {
    expect(await launcher.stop()).toBe(0);
  }
  expect(launcher.logs()).toContain("the agent token was refused; retrying with the token read again");
  expect(fakes.buildkite.stack(STACK_KEY)?.state).toBe("disconnected");
});

test("an agent token Buildkite refuses for good stops the launcher: exit 1 with the reason", async () => {
  const launcher = startLauncher(fakes, undefined);
  await eventually("the stack registered", () => fakes.buildkite.stack(STACK_KEY) !== undefined, 20_000);
  // The Secret keeps the old token: reading it again does not help.
  fakes.buildkite.rotateAgentToken("a-token-the-launcher-does-not-have");
  expect(await launcher.exit).toBe(1);
  expect(launcher.logs()).toMatch(
    /agent-stack-k8s launcher: list scheduled jobs: GET http:\/\/127\.0\.0\.1:\d+\/v3\/stacks\/agent-stack-k8s\/scheduled-jobs\?queue_key=kubernetes&limit=1000: 401 Unauthorized/,
  );
  // It tried to deregister on the way out; Buildkite refused that too, which is only logged.
  expect(fakes.buildkite.calls.at(-1)?.operation).toBe("deregister stack");
  expect(launcher.logs()).toContain("could not deregister the stack");
});

test("stopping: the Jobs of the jobs it reserved are created first, then the stack is deregistered", async () => {
  const jobs = Array.from({ length: 8 }, (_, i) => addJob(fakes, { command: `echo ${i}` }));
  // Two creates a second: most of the reserved jobs still wait when the stop comes.
  const launcher = startLauncher(fakes, undefined, [
    "job-creation-concurrency: 1",
    "k8s-client-rate-limiter-qps: 2",
    "k8s-client-rate-limiter-burst: 1",
  ]);
  await eventually("the first Job", () => jobsInCluster(fakes).length >= 1, 20_000);
  expect(jobs.every((job) => fakes.buildkite.job(job.uuid)?.state === "RESERVED")).toBe(true);
  expect(jobsInCluster(fakes).length).toBeLessThan(jobs.length);
  expect(await launcher.stop()).toBe(0);
  // Every job has its Job (a create cut short by the stop is sent again, and answered "exists" if it
  // had gone through), and none is left waiting for its reservation to expire.
  expect(uuidsInCluster(fakes)).toEqual(new Set(jobs.map((job) => job.uuid)));
  expect(launcher.logs()).not.toContain("stopping with reserved jobs");
  expect(fakes.buildkite.stack(STACK_KEY)?.state).toBe("disconnected");
});

test("killed with jobs reserved and no Job: they come back when the reservation expires, and are created once", async () => {
  const jobs = Array.from({ length: 5 }, (_, i) => addJob(fakes, { command: `echo ${i}` }));
  // The webhook is down: the first launcher reserves every job and cannot create any.
  fakes.registerWebhook(`https://127.0.0.1:${await freePort()}/mutate`);
  const directory = mkdtempSync(join(tmpdir(), "launcher-"));
  writeFileSync(join(directory, "kubeconfig"), fakes.kubernetes.kubeConfig().exportConfig());
  writeFileSync(
    join(directory, "launcher.yaml"),
    [
      `namespace: ${NS}`,
      `agent-token-secret: ${AGENT_TOKEN_SECRET}`,
      "max-in-flight: 0",
      "agent-config:",
      `  endpoint: ${fakes.buildkite.agentUrl}`,
    ].join("\n"),
  );
  const child = spawn(
    process.execPath,
    [CLI, "launcher", "--config", join(directory, "launcher.yaml"), "--port", "0"],
    { env: { ...process.env, KUBECONFIG: join(directory, "kubeconfig") }, stdio: "ignore" },
  );
  try {
    await eventually(
      "every job reserved",
      () => jobs.every((job) => fakes.buildkite.job(job.uuid)?.state === "RESERVED"),
      30_000,
    );
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
  expect(jobsInCluster(fakes)).toEqual([]);
  // Killed: no deregistration.
  expect(fakes.buildkite.stack(STACK_KEY)?.state).toBe("connected");
  fakes.registerWebhook();
  const next = startLauncher(fakes, undefined);
  try {
    await eventually("the new launcher polls", () => next.logs().includes("launcher started"), 20_000);
    // Still reserved for the killed one: nothing to take yet.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(jobsInCluster(fakes)).toEqual([]);
    fakes.buildkite.advanceTime(900_000);
    await eventually(
      "every Job, once the reservations expired",
      () => jobsInCluster(fakes).length === 5,
      20_000,
    );
  } finally {
    expect(await next.stop()).toBe(0);
  }
  // One Job per job (a Job's name is its job's uuid): none lost, none twice.
  expect(jobsInCluster(fakes)).toHaveLength(jobs.length);
  expect(uuidsInCluster(fakes)).toEqual(new Set(jobs.map((job) => job.uuid)));
}, 60_000);

test("a job cancelled on Buildkite while its Job waits without a pod: the Job is deleted (get-states)", async () => {
  const job = addJob(fakes);
  const launcher = startLauncher(fakes, undefined, ["job-cancel-checker-poll-interval: 1s"]);
  try {
    await eventually("its Job", () => jobsInCluster(fakes).length === 1, 20_000);
    fakes.buildkite.setState(job.uuid, "CANCELED");
    await eventually("the Job deleted", () => jobsInCluster(fakes).length === 0, 20_000);
    await eventually(
      "the launcher says why",
      () => launcher.logs().includes("the Buildkite job was cancelled: deleted its waiting Job"),
      10_000,
    );
  } finally {
    expect(await launcher.stop()).toBe(0);
  }
  const states = fakes.buildkite.calls.filter((call) => call.operation === "get job states");
  expect(states.length).toBeGreaterThan(0);
  expect(fakes.buildkite.job(job.uuid)?.state).toBe("CANCELED");
});

test("an image the pod of a job an agent runs cannot pull: noted on the job's page, not failed", async () => {
  const job = addJob(fakes);
  const launcher = startLauncher(fakes, undefined, ["image-pull-backoff-grace-period: 1s"]);
  try {
    await eventually("its Job", () => jobsInCluster(fakes).length === 1, 20_000);
    const name = `buildkite-${job.uuid}`;
    fakes.buildkite.setState(job.uuid, "RUNNING");
    fakes.kubernetes.cluster.runJob(NS, name, {
      phase: "Running",
      startTime: new Date(Date.now() - 60_000),
      containers: {
        agent: containerState.running(),
        "container-0": containerState.imagePullBackOff("buildkite/agent:nope"),
      },
    });
    await eventually(
      "the note",
      () => (fakes.buildkite.job(job.uuid)?.notifications.length ?? 0) >= 2,
      20_000,
    );
  } finally {
    expect(await launcher.stop()).toBe(0);
  }
  const stored = fakes.buildkite.job(job.uuid);
  expect(stored?.notifications.map((note) => note.detail)).toEqual([
    CREATED_NOTE,
    'Image pull failure; the job will fail once the agent times out. container-0: ImagePullBackOff (Back-off pulling image "buildkite/agent:nope")',
  ]);
  expect(stored?.state).toBe("RUNNING");
  expect(fakes.buildkite.calls.some((call) => call.operation === "finish job")).toBe(false);
});
