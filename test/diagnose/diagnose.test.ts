/**
 * `diagnose` end to end on the fake API server, against the chart as helm renders it under a release
 * name of its own: every part on a healthy stack, the archive read back, no secret anywhere in it;
 * then the ways it goes wrong: a missing permission, an unreachable or silent webhook, a caBundle that
 * does not verify, a configuration that does not load, a log that cannot be read, a user who may read
 * little, an API server that cannot be reached.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  KubernetesObject,
  V1ConfigMap,
  V1MutatingWebhookConfiguration,
  V1Pod,
} from "@kubernetes/client-node";
import { afterEach, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { generateCertificateAuthority } from "../../certs/generate.ts";
import { PARTS } from "../../diagnose/run.ts";
import { HELM, SKIP_REASON } from "../chart/render.ts";
import { freePort } from "../webhook/harness.ts";
import { lineOf, marksOf, runDiagnose } from "./run-diagnose.ts";
import {
  FULLNAME,
  installStack,
  JOB_ASKED,
  JOB_OTHER,
  NS,
  RELEASE,
  SECRET_VALUES,
  type StackOnFakes,
} from "./stack-on-fakes.ts";

const PART_NAMES = PARTS.map((part) => part.name);
const ALL_GOOD = {
  stack: "✓",
  configuration: "✓",
  "stack pods": "✓",
  "stack logs": "✓",
  jobs: "✓",
  events: "✓",
  "job logs": "-",
  "webhook configuration": "✓",
  "serving certificate": "✓",
  "webhook readiness": "✓",
  permissions: "✓",
};

let stack: StackOnFakes | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const podName = (component: string, index = 0) => stack?.pods(component)[index]?.metadata?.name ?? "";

/** Every secret value of the stack, as it is and base64-encoded (as a Secret holds it). */
function secretsOf(installed: StackOnFakes): string[] {
  const values = [
    ...Object.values(SECRET_VALUES),
    ...installed.privateKeys.map((pem) => pem.split("\n")[1] ?? ""),
  ];
  return values.flatMap((value) => [value, Buffer.from(value).toString("base64")]);
}

describe.skipIf(HELM === undefined)(`diagnose on the fake API server${SKIP_REASON}`, () => {
  test("collects every part of a healthy stack, whatever its release is called, with no secret in the archive", async () => {
    stack = await installStack();
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS]);
    expect(result.status).toBe(0);
    expect(marksOf(result.stdout, PART_NAMES)).toEqual(ALL_GOOD);
    expect(lineOf(result.stdout, "stack")).toContain(
      `release ${RELEASE}: launcher ${FULLNAME}-launcher, webhook ${FULLNAME}-webhook, certs ${FULLNAME}-certs`,
    );
    expect(lineOf(result.stdout, "stack pods")).toContain(
      "4 pods: launcher 1/1 ready, webhook 2/2 ready, certs 1/1 ready",
    );
    expect(lineOf(result.stdout, "jobs")).toContain("the stack's: 2 Jobs (2 running), 2 pods");
    expect(lineOf(result.stdout, "permissions")).toContain("21 of 21 granted");
    expect(result.stdout).toMatch(/\nWrote .*support\.tar\.gz \(18 files, \d+ KiB\)/);

    const stackLogs = ["launcher", "webhook", "certs"].flatMap((component) =>
      (stack?.pods(component) ?? []).map((pod) => `stack/logs/${pod.metadata?.name}/${component}.log`),
    );
    expect([...result.files.keys()].sort()).toEqual(
      [
        "config/configmap.yaml",
        "config/effective.yaml",
        "events.txt",
        "events.yaml",
        "jobs/jobs.yaml",
        "jobs/pods.yaml",
        "manifest.json",
        "permissions.txt",
        "stack/deployments.yaml",
        "stack/pods.yaml",
        ...stackLogs,
        "summary.txt",
        "webhook/certificate.txt",
        "webhook/configurations.yaml",
        "webhook/readyz.txt",
      ].sort(),
    );
    const file = (path: string) => result.files.get(path) ?? "";
    const launcherPod = podName("launcher");
    expect(file(`stack/logs/${launcherPod}/launcher.log`)).toMatch(
      new RegExp(
        `^\\S+Z level=info msg="an old line of ${launcherPod}"\n\\S+Z level=info msg="launcher of ${launcherPod} is up"\n$`,
      ),
    );
    const effective = parse(file("config/effective.yaml")) as Record<string, unknown>;
    expect(effective).toMatchObject({
      namespace: NS,
      id: FULLNAME,
      org: "acme",
      "agent-token-secret": `${FULLNAME}-secrets`,
      "log-level": "debug",
    });
    expect(effective["buildkite-token"]).toMatch(/^\(not in the ConfigMap/);
    // The job source depends on the Secret's BUILDKITE_TOKEN, which diagnose does not read.
    expect(effective["job-source"]).toMatch(/^\(empty: graphql if the launcher's Secret has BUILDKITE_TOKEN/);
    expect(file("config/effective.yaml")).toContain(
      "# and the launcher container's environment: log-level (env LOG_LEVEL)",
    );

    const deployments = parse(file("stack/deployments.yaml")) as {
      items: {
        spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
      }[];
    };
    const launcherEnv = deployments.items[0]?.spec.template.spec.containers[0]?.env ?? [];
    expect(launcherEnv).toContainEqual({ name: "DEPLOY_API_KEY", value: "[redacted]" });
    expect(launcherEnv).toContainEqual({ name: "LOG_LEVEL", value: "debug" });
    expect(file("jobs/pods.yaml")).toMatch(/- name: NPM_TOKEN\n +value: "\[redacted\]"\n/);
    expect(file("jobs/jobs.yaml")).toMatch(/- name: NPM_TOKEN\n +value: "\[redacted\]"\n/);
    expect(file("jobs/pods.yaml")).not.toContain("managedFields");

    expect(file("events.txt")).toContain(`Pod ${podName("webhook")}\n`);
    expect(file("events.txt")).toContain("Readiness probe failed");
    expect(file("events.txt")).not.toContain("not about the stack");
    expect(file("webhook/certificate.txt")).toContain(
      `caBundle verifies the serving certificate for ${FULLNAME}-webhook.${NS}.svc`,
    );
    expect(file("webhook/readyz.txt")).toBe(
      `GET /api/v1/namespaces/${NS}/services/https:${FULLNAME}-webhook:443/proxy/readyz → 200\nok\n\n`,
    );
    expect(file("permissions.txt").match(/^ {2}✓ /gm)).toHaveLength(21);
    expect(file("permissions.txt")).toContain(`  ✓ get secrets ${FULLNAME}-secrets`);

    // The summary in the archive is what was printed; the manifest lists every file and part.
    expect(result.stdout.startsWith(file("summary.txt"))).toBe(true);
    const manifest = JSON.parse(file("manifest.json")) as {
      namespace: string;
      parts: { name: string; status: string; files: string[] }[];
      files: { path: string }[];
    };
    expect(manifest.namespace).toBe(NS);
    expect(manifest.parts.map((part) => part.name)).toEqual(PART_NAMES);
    expect(manifest.parts.find((part) => part.name === "stack logs")?.files.sort()).toEqual(stackLogs.sort());
    expect(manifest.files.map((entry) => entry.path)).toEqual(
      [...result.files.keys()].filter((path) => path !== "manifest.json"),
    );

    for (const secret of secretsOf(stack)) expect(result.tar.includes(secret), secret).toBe(false);
    expect(result.leftovers).toEqual([]);
  });

  test("the archive unpacks with tar, under one directory", async (context) => {
    const tar = spawnSync("tar", ["--version"]);
    if (tar.status !== 0) context.skip("no tar on this machine to unpack the archive with");
    stack = await installStack();
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS]);
    const work = mkdtempSync(join(tmpdir(), "diagnose-tar-"));
    try {
      writeFileSync(join(work, "support.tar.gz"), result.tgz);
      const listed = spawnSync("tar", ["-tzf", "support.tar.gz"], { cwd: work, encoding: "utf8" });
      expect(listed.stderr).toBe("");
      expect(listed.stdout.trim().split("\n").sort()).toEqual(
        [...result.files.keys()].map((path) => `support/${path}`).sort(),
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test("--job: that job's Job, pods, Events and every container's whole log, and no other job's; --since cuts the stack's logs", async () => {
    stack = await installStack();
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), [
      "--namespace",
      NS,
      "--job",
      JOB_ASKED,
      "--since",
      "1h",
    ]);
    expect(result.status).toBe(0);
    expect(marksOf(result.stdout, PART_NAMES)).toEqual({ ...ALL_GOOD, "job logs": "✓" });
    expect(lineOf(result.stdout, "jobs")).toContain("the job asked for: 1 Jobs (1 running), 1 pods");
    const pod = stack.pods(JOB_ASKED)[0];
    const containers = [...(pod?.spec?.initContainers ?? []), ...(pod?.spec?.containers ?? [])].map(
      (container) => container.name,
    );
    expect(containers.length).toBeGreaterThan(3);
    const jobLogs = [...result.files.keys()].filter((path) => path.startsWith("jobs/logs/")).sort();
    expect(jobLogs).toEqual(
      containers.map((container) => `jobs/logs/${pod?.metadata?.name}/${container}.log`).sort(),
    );
    expect(result.files.get(`jobs/logs/${pod?.metadata?.name}/agent.log`)).toMatch(
      new RegExp(`Z agent of job ${JOB_ASKED}: step 0\n$`),
    );
    expect(result.files.get("jobs/jobs.yaml")).toContain(JOB_ASKED);
    expect(result.files.get("jobs/jobs.yaml")).not.toContain(JOB_OTHER);
    expect(result.files.get("events.yaml")).toContain(`Successfully pulled image for job ${JOB_ASKED}`);
    expect(result.files.get("events.txt")?.split("\n")).toContain(`Pod ${pod?.metadata?.name}`);
    expect(result.files.get("events.yaml")).not.toContain(JOB_OTHER);
    const launcherLog = result.files.get(`stack/logs/${podName("launcher")}/launcher.log`);
    expect(launcherLog).toContain("is up");
    expect(launcherLog).not.toContain("an old line");
    expect(lineOf(result.stdout, "stack logs")).toContain("the last 1h0m0s");
    for (const secret of secretsOf(stack)) expect(result.tar.includes(secret), secret).toBe(false);
  });

  test("a crash-looping webhook pod is a ✗ line that says why, and its previous run's log is collected", async () => {
    stack = await installStack();
    const name = podName("webhook", 1);
    const pod = stack.kubernetes.get("v1", "Pod", NS, name) as V1Pod;
    const [status] = pod.status?.containerStatuses ?? [];
    stack.kubernetes.put({
      ...pod,
      status: {
        ...pod.status,
        conditions: pod.status?.conditions?.map((condition) =>
          condition.type === "Ready" ? { ...condition, status: "False" } : condition,
        ),
        containerStatuses: [
          {
            ...status,
            ready: false,
            restartCount: 3,
            state: {
              waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" },
            },
            lastState: { terminated: { exitCode: 2, reason: "Error" } },
          },
        ],
      },
    } as KubernetesObject);
    stack.kubernetes.writeLog(NS, name, "webhook", "webhook: --tls-cert-file: no such file", {
      previous: true,
    });
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS]);
    expect(marksOf(result.stdout, PART_NAMES)).toEqual({ ...ALL_GOOD, "stack pods": "✗" });
    expect(lineOf(result.stdout, "stack pods")).toContain("webhook 1/2 ready");
    expect(result.stdout).toContain(
      `    ${name}: Running; container webhook waiting: CrashLoopBackOff (back-off 40s restarting failed container), last exit 2 (Error), 3 restarts\n`,
    );
    expect(lineOf(result.stdout, "stack logs")).toContain("5 logs of 4 pods");
    expect(result.files.get(`stack/logs/${name}/webhook.previous.log`)).toMatch(
      /Z webhook: --tls-cert-file: no such file\n$/,
    );
  });

  test("a job with no Job is a ✗ line that says where it could have gone", async () => {
    stack = await installStack();
    const missing = "0195a2b0-3333-4000-8000-00000000000c";
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), [
      "--namespace",
      NS,
      "--job",
      JOB_ASKED,
      "--job",
      missing,
    ]);
    expect(lineOf(result.stdout, "jobs")).toMatch(/^✗ jobs +the 2 jobs asked for: 1 Jobs/);
    expect(result.stdout).toContain(
      `    job ${missing}: no Job in ${NS} (not created yet, created in another namespace, or deleted after it finished: job-ttl)`,
    );
  });

  test("a permission the chart's Role lacks is a ✗ row of the table, printed and archived", async () => {
    stack = await installStack();
    const role = stack.kubernetes.get(
      "rbac.authorization.k8s.io/v1",
      "Role",
      NS,
      `${FULLNAME}-launcher`,
    ) as KubernetesObject & { rules: { verbs: string[]; resources: string[] }[] };
    stack.kubernetes.put({
      ...role,
      rules: role.rules.map((rule) =>
        rule.resources.includes("jobs")
          ? { ...rule, verbs: rule.verbs.filter((verb) => verb !== "delete") }
          : rule,
      ),
    } as KubernetesObject);
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS]);
    expect(result.status).toBe(0);
    expect(marksOf(result.stdout, PART_NAMES)).toEqual({ ...ALL_GOOD, permissions: "✗" });
    expect(lineOf(result.stdout, "permissions")).toContain("20 of 21 granted, 1 missing");
    expect(result.stdout).toMatch(
      /\n {6}✗ delete jobs\.batch +removing Jobs of cancelled or failed Buildkite jobs\n/,
    );
    expect(result.files.get("permissions.txt")).toMatch(/\n {2}✗ delete jobs\.batch /);
  });

  test("an unreachable webhook is a ✗ readiness line with the API server's reason", async () => {
    stack = await installStack({ webhookBackend: "unreachable" });
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS]);
    expect(result.status).toBe(0);
    expect(marksOf(result.stdout, PART_NAMES)).toEqual({ ...ALL_GOOD, "webhook readiness": "✗" });
    expect(lineOf(result.stdout, "webhook readiness")).toContain("the webhook is not ready");
    expect(result.stdout).toMatch(
      new RegExp(
        `\n {4}Service ${NS}/${FULLNAME}-webhook cannot be reached: GET /readyz .*: 503 ServiceUnavailable: error trying to reach service: dial tcp 127\\.0\\.0\\.1:\\d+: connect: connection refused\n`,
      ),
    );
    expect(result.files.get("webhook/readyz.txt")).toContain("→ no answer");
  });

  test("a webhook that never answers is cut off by the call's timeout, and the run goes on", async () => {
    stack = await installStack({ webhookBackend: "silent" });
    const started = Date.now();
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS], {
      limits: {
        timeoutMs: 500,
        logTimeoutMs: 2_000,
        retry: { attempts: 1, initialDelayMs: 10, maxDelayMs: 10 },
      },
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(marksOf(result.stdout, PART_NAMES)).toEqual({ ...ALL_GOOD, "webhook readiness": "✗" });
    expect(result.stdout).toContain(": no answer in time");
    expect(lineOf(result.stdout, "permissions")).toContain("21 of 21 granted");
  });

  test("a caBundle that did not sign the serving certificate is a ✗ line that says so", async () => {
    stack = await installStack();
    const name = `${FULLNAME}-${NS}`;
    const configuration = stack.kubernetes.get(
      "admissionregistration.k8s.io/v1",
      "MutatingWebhookConfiguration",
      undefined,
      name,
    ) as V1MutatingWebhookConfiguration;
    const other = await generateCertificateAuthority();
    stack.kubernetes.put({
      ...configuration,
      webhooks: (configuration.webhooks ?? []).map((webhook) => ({
        ...webhook,
        clientConfig: { ...webhook.clientConfig, caBundle: Buffer.from(other.caCert).toString("base64") },
      })),
    } as KubernetesObject);
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS]);
    expect(marksOf(result.stdout, PART_NAMES)).toEqual({ ...ALL_GOOD, "serving certificate": "✗" });
    expect(result.stdout).toContain(
      `Secret ${NS}/${FULLNAME}-webhook-tls tls.crt: not signed by any CA of the caBundle of MutatingWebhookConfiguration ${name}`,
    );
    expect(result.files.get("webhook/certificate.txt")).toContain("caBundle does NOT verify");
  });

  test("tokens and secret env values written into the ConfigMap are redacted everywhere", async () => {
    stack = await installStack();
    const name = `${FULLNAME}-config`;
    const configMap = stack.kubernetes.get("v1", "ConfigMap", NS, name) as V1ConfigMap;
    const token = "bkua_configmap-token-77aa66bb";
    const npmToken = "npm-secret-in-a-patch-5544";
    const text = `${configMap.data?.["config.yaml"]}buildkite-token: ${token} # set by hand\npod-spec-patch:\n  containers:\n    - name: container-0\n      env:\n        - name: NPM_TOKEN\n          value: ${npmToken}\n`;
    stack.kubernetes.put({ ...configMap, data: { "config.yaml": text } } as KubernetesObject);
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS]);
    expect(lineOf(result.stdout, "configuration")).toMatch(/^✓/);
    expect(result.files.get("config/configmap.yaml")).toContain(
      'buildkite-token: "[redacted]" # set by hand',
    );
    expect(result.files.get("config/effective.yaml")).toContain('buildkite-token: "[redacted]"');
    expect(result.files.get("config/effective.yaml")).toContain("name: NPM_TOKEN");
    for (const secret of [token, npmToken]) expect(result.tar.includes(secret), secret).toBe(false);
  });

  test("a configuration that does not load is a ✗ line with the loader's problems, and the Jobs are still found", async () => {
    stack = await installStack();
    const configMap = stack.kubernetes.get("v1", "ConfigMap", NS, `${FULLNAME}-config`) as V1ConfigMap;
    stack.kubernetes.put({
      ...configMap,
      data: { "config.yaml": `${configMap.data?.["config.yaml"]}max-in-flight: lots\n` },
    } as KubernetesObject);
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS]);
    expect(result.status).toBe(0);
    expect(marksOf(result.stdout, PART_NAMES)).toEqual({ ...ALL_GOOD, configuration: "✗", permissions: "?" });
    expect(result.stdout).toMatch(
      /\n {4}max-in-flight: "lots" \(from file \/etc\/agent-stack-k8s\/config\.yaml:\d+\) /,
    );
    expect(lineOf(result.stdout, "jobs")).toContain(
      "every Job with a job uuid (the configuration, which names this stack's, could not be read): 2 Jobs",
    );
    expect(result.stdout).toMatch(
      /\n {6}\? get secrets \(unknown\) +not checked: the agent token Secret is named by the configuration, which could not be read\n/,
    );
  });

  test("a log that cannot be read is one line, and every other log is collected", async () => {
    stack = await installStack();
    const broken = podName("webhook", 1);
    stack.kubernetes.failNext(10, 500, {
      match: (method, path) => method === "GET" && path.includes(`/pods/${broken}/log`),
    });
    const result = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS]);
    expect(result.status).toBe(0);
    expect(lineOf(result.stdout, "stack logs")).toMatch(
      /^\? stack logs +partly collected: 3 logs of 4 pods; 1 could not be read$/,
    );
    expect(result.stdout).toContain(
      `    get the log of container webhook of Pod ${NS}/${broken}: 500 InternalError`,
    );
    expect(result.files.has(`stack/logs/${podName("webhook", 0)}/webhook.log`)).toBe(true);
    expect(result.files.has(`stack/logs/${broken}/webhook.log`)).toBe(false);
  });

  test("a user who may read only the namespace gets every part that allows, and a clear line for the rest", async () => {
    stack = await installStack({ users: [{ name: "support", groups: ["system:authenticated"] }] });
    const rule = (apiGroups: string[], resources: string[], verbs: string[]) => ({
      apiGroups,
      resources,
      verbs,
    });
    stack.kubernetes.put({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "support", namespace: NS },
      rules: [
        rule(["apps"], ["deployments"], ["list"]),
        rule([""], ["pods", "events"], ["list"]),
        rule([""], ["pods/log", "configmaps"], ["get"]),
        rule(["batch"], ["jobs"], ["list"]),
      ],
    } as KubernetesObject);
    stack.kubernetes.put({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "support", namespace: NS },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "support" },
      subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "support" }],
    } as KubernetesObject);
    const result = await runDiagnose(stack.kubernetes.kubeConfig("support"), ["--namespace", NS]);
    expect(result.status).toBe(0);
    expect(marksOf(result.stdout, PART_NAMES)).toEqual({
      ...ALL_GOOD,
      "webhook configuration": "?",
      "serving certificate": "-",
      "webhook readiness": "-",
      permissions: "?",
    });
    expect(lineOf(result.stdout, "webhook configuration")).toContain(
      'not collected: list MutatingWebhookConfigurations (app.kubernetes.io/instance=payments): 403 Forbidden: mutatingwebhookconfigurations.admissionregistration.k8s.io is forbidden: User "support" cannot list resource "mutatingwebhookconfigurations" in API group "admissionregistration.k8s.io" at the cluster scope',
    );
    expect(lineOf(result.stdout, "serving certificate")).toContain(
      "skipped: needs the webhook configuration, which could not be collected",
    );
    expect(lineOf(result.stdout, "permissions")).toContain(
      `not collected: SelfSubjectAccessReview as system:serviceaccount:${NS}:`,
    );
    expect(lineOf(result.stdout, "permissions")).toContain(
      `is forbidden: User "support" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "${NS}"`,
    );
  });

  test("two releases in one namespace need --release", async () => {
    stack = await installStack();
    const launcher = stack.deployment("launcher");
    stack.kubernetes.put({
      ...launcher,
      metadata: {
        ...launcher.metadata,
        name: "staging-agent-stack-k8s-launcher",
        labels: { ...launcher.metadata?.labels, "app.kubernetes.io/instance": "staging" },
      },
    } as KubernetesObject);
    const ambiguous = await runDiagnose(stack.kubernetes.kubeConfig(), ["--namespace", NS]);
    expect(lineOf(ambiguous.stdout, "stack")).toContain(
      `✗ stack                  2 releases of the agent-stack-k8s chart in namespace ${NS} (payments, staging): choose one with --release`,
    );
    expect(lineOf(ambiguous.stdout, "configuration")).toContain("skipped: needs the stack's Deployments");
    expect(lineOf(ambiguous.stdout, "jobs")).toMatch(/^✓ jobs/);
    const chosen = await runDiagnose(stack.kubernetes.kubeConfig(), [
      "--namespace",
      NS,
      "--release",
      RELEASE,
    ]);
    expect(marksOf(chosen.stdout, PART_NAMES)).toEqual(ALL_GOOD);
  });

  test("the namespace defaults to the kubeconfig context's, and a namespace without the stack says so", async () => {
    stack = await installStack();
    const kubeConfig = stack.kubernetes.kubeConfig();
    const result = await runDiagnose(kubeConfig, []);
    expect(result.stdout).toContain(", namespace default\n");
    expect(lineOf(result.stdout, "stack")).toContain(
      "no Deployment of the agent-stack-k8s chart in namespace default: is the stack installed there? (--namespace)",
    );
  });
});

test("an API server that cannot be reached: every part says so, the archive holds the summary, exit status 1", async () => {
  const port = await freePort();
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "gone", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "me" }],
    contexts: [{ name: "gone", cluster: "gone", user: "me", namespace: "buildkite" }],
    currentContext: "gone",
  });
  const result = await runDiagnose(kubeConfig, [], {
    limits: {
      timeoutMs: 1_000,
      logTimeoutMs: 1_000,
      retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
    },
  });
  expect(result.error?.code).toBe("ASK_DIAGNOSE_NOTHING_COLLECTED");
  expect(lineOf(result.stdout, "stack")).toMatch(
    /^\? stack +not collected: list Deployments in buildkite .*cannot reach the Kubernetes API: connect ECONNREFUSED/,
  );
  expect([...result.files.keys()]).toEqual(["summary.txt", "manifest.json"]);
});

test("bad flags are usage errors, and an --out that cannot be written fails before any call", async () => {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "c", server: "http://127.0.0.1:1", skipTLSVerify: true }],
    users: [{ name: "u" }],
    contexts: [{ name: "c", cluster: "c", user: "u" }],
    currentContext: "c",
  });
  const cases: [string[], string, RegExp][] = [
    [["--job", "not-a-uuid"], "ASK_CLI_USAGE", /--job "not-a-uuid" is not a UUID; expected a UUID such as/],
    [["--since", "an hour"], "ASK_CLI_USAGE", /--since "an hour": .*; expected a Go duration/],
    [["--since", "0s"], "ASK_CLI_USAGE", /--since "0s": must be longer than 0/],
    [["--release", "Not A Release"], "ASK_CLI_USAGE", /--release "Not A Release" is not a release name/],
    [["extra"], "ASK_CLI_USAGE", /unexpected argument "extra"/],
  ];
  for (const [args, code, message] of cases) {
    const result = await runDiagnose(kubeConfig, args);
    expect(result.error?.code, args.join(" ")).toBe(code);
    expect(result.error?.message).toMatch(message);
    expect(result.error?.message).toMatch(/\(see agent-stack-k8s diagnose --help\)$/);
  }
  const unwritable = await runDiagnose(kubeConfig, [], {
    out: (directory) => join(directory, "no", "such", "dir.tar.gz"),
  });
  expect(unwritable.error?.code).toBe("ASK_DIAGNOSE_OUTPUT");
  expect(unwritable.error?.message).toMatch(/^--out .*no\/such\/dir\.tar\.gz: cannot write it: ENOENT/);
  expect(unwritable.stdout).toBe("");
  expect(unwritable.leftovers).toEqual([]);
});
