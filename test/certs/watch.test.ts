import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { MAX_TIMER_MS, sleepUntil } from "../../certs/watch.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import {
  expectNoKeyMaterial,
  messages,
  runCerts,
  temporaryDirectory,
  webhookConfiguration,
} from "./helpers.ts";

const EXECUTABLE = new URL("../../bin/agent-stack-k8s.js", import.meta.url).pathname;

let directory: { path: string; remove: () => void };

beforeEach(() => {
  directory = temporaryDirectory();
});

afterEach(() => {
  directory.remove();
});

function httpText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet({ host: "127.0.0.1", port, path, agent: false }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
      });
      response.on("end", () => resolve(text));
    }).on("error", reject);
  });
}

function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet({ host: "127.0.0.1", port, path, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on("error", reject);
  });
}

/** Resolves once `condition` holds; checked every few milliseconds (the test's timeout bounds it). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("--watch", () => {
  test("renews a short-lived serving certificate from the same CA when it is due, and stops on request", async () => {
    const out = join(directory.path, "tls");
    const controller = new AbortController();
    let output = "";
    const running = runCerts(
      ["--out-dir", out, "--watch", "--serving-validity", "4s", "--renew-fraction", "0.5"],
      { signal: controller.signal },
      (text) => {
        output += text;
      },
    );
    let settled = false;
    void running.finally(() => {
      settled = true;
    });
    const read = (name: string) => readFileSync(join(out, name), "utf8");
    await until(() => output.includes('"certificates created"') || settled);
    const first = { cert: read("tls.crt"), ca: read("ca.crt") };
    await until(() => output.includes('"serving certificate renewed (same CA)"') || settled);
    expect(settled, "the watch ended on its own").toBe(false);
    controller.abort();
    const result = await running;
    expect(result.code).toBe(0);
    expect(read("tls.crt")).not.toBe(first.cert);
    expect(read("ca.crt")).toBe(first.ca);
    expect(messages(result)).toEqual(
      expect.arrayContaining(["certificates created", "serving certificate renewed (same CA)", "stopped"]),
    );
    expectNoKeyMaterial(result.stdout, [
      { caCert: first.ca, caKey: read("ca.key"), cert: read("tls.crt"), key: read("tls.key") },
    ]);
  });

  describe("against the API", () => {
    let fake: FakeKubernetes;

    beforeEach(async () => {
      fake = await startFakeKubernetes();
    });

    afterEach(async () => {
      await fake.close();
    });

    test("an API server that keeps failing is retried, each distinct error logged once, until it recovers", async () => {
      fake.put(webhookConfiguration("hooks"));
      fake.failNext(6, 500);
      const controller = new AbortController();
      let output = "";
      const running = runCerts(
        ["--secret", "hook-tls", "--service", "hook", "--webhook-configuration", "hooks", "--watch"],
        {
          kubeConfig: fake.kubeConfig(),
          signal: controller.signal,
          call: { timeoutMs: 5_000, retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 } },
        },
        (text) => {
          output += text;
        },
      );
      await until(() => output.includes('"certificates in order again"'));
      controller.abort();
      const result = await running;
      expect(result.code).toBe(0);
      const logged = messages(result);
      expect(logged.filter((message) => message === "certificate check failed; retrying")).toHaveLength(1);
      expect(logged.filter((message) => message === "Kubernetes API call failed; retrying")).toHaveLength(1);
      expect(logged).toEqual(
        expect.arrayContaining([
          "certificates in order again",
          "certificates created",
          "caBundle updated",
          "stopped",
        ]),
      );
    });

    test("a replace that wipes the caBundle is undone within seconds, and the probes say the keeper is in order", async () => {
      fake.put(webhookConfiguration("hooks"));
      const controller = new AbortController();
      let output = "";
      let port: number | undefined;
      const running = runCerts(
        [
          "--secret",
          "hook-tls",
          "--service",
          "hook",
          "--webhook-configuration",
          "hooks",
          "--watch",
          // The periodic check is far away: only the watch of the configuration can restore it in time.
          "--check-interval",
          "10m",
          "--port",
          "0",
        ],
        {
          kubeConfig: fake.kubeConfig(),
          signal: controller.signal,
          onListening: (listening) => {
            port = listening;
          },
        },
        (text) => {
          output += text;
        },
      );
      const bundles = () =>
        (
          (fake.get("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", undefined, "hooks") ??
            {}) as {
            webhooks?: Array<{ clientConfig: { caBundle?: string } }>;
          }
        ).webhooks?.map((webhook) => webhook.clientConfig.caBundle) ?? [];
      try {
        await until(() => bundles().length === 2 && bundles().every((bundle) => bundle !== undefined));
        const first = bundles();
        await until(() => port !== undefined);
        expect(await httpStatus(port as number, "/healthz")).toBe(200);
        expect(await httpStatus(port as number, "/readyz")).toBe(200);
        expect(await httpText(port as number, "/metrics")).toMatch(
          /agent_stack_k8s_certs_checks_total\{result="success"\} [1-9]/,
        );

        // `helm upgrade --force`, or a GitOps tool applying the chart's rendering: no caBundle.
        const replacedAt = Date.now();
        fake.put(webhookConfiguration("hooks"));
        expect(bundles()).toEqual([undefined, undefined]);
        await until(() => bundles().every((bundle) => bundle !== undefined));
        expect(Date.now() - replacedAt).toBeLessThan(5_000);
        expect(bundles()).toEqual(first);
        expect(output).toContain("the webhook configuration changed: checking its caBundle now");
      } finally {
        controller.abort();
      }
      expect((await running).code).toBe(0);
    });

    test("the probes say not ready while a check fails", async () => {
      fake.failNext(1_000, 500);
      const controller = new AbortController();
      let port: number | undefined;
      const running = runCerts(["--secret", "hook-tls", "--service", "hook", "--watch", "--port", "0"], {
        kubeConfig: fake.kubeConfig(),
        signal: controller.signal,
        onListening: (listening) => {
          port = listening;
        },
      });
      try {
        await until(() => port !== undefined);
        expect(await httpStatus(port as number, "/healthz")).toBe(200);
        expect(await httpText(port as number, "/readyz")).toBe("not ready: waiting for certificates\n");
      } finally {
        controller.abort();
      }
      expect((await running).code).toBe(0);
    });

    test("--port needs --watch", async () => {
      const result = await runCerts(["--secret", "hook-tls", "--service", "hook", "--port", "0"], {
        kubeConfig: fake.kubeConfig(),
      });
      expect(result.code).toMatchObject({
        code: "ASK_CLI_USAGE",
        message: expect.stringContaining("--port needs --watch"),
      });
    });

    test("a failure that retrying cannot fix ends the watch with the error", async () => {
      fake.put({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "hook-tls", namespace: "ns" },
        type: "Opaque",
      });
      const result = await runCerts(["--secret", "hook-tls", "--service", "hook", "--watch"], {
        kubeConfig: fake.kubeConfig(),
      });
      expect(result.code).toMatchObject({ code: "ASK_CERTS_SECRET_NOT_USABLE" });
    });
  });

  test.each(["SIGTERM", "SIGINT"] as const)(
    "the executable stops cleanly on %s with exit status 0",
    async (signal) => {
      const child = spawn(
        process.execPath,
        [EXECUTABLE, "certs", "--out-dir", join(directory.path, "tls"), "--watch"],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      await until(() => stdout.includes("certificates created") || child.exitCode !== null);
      child.kill(signal);
      expect(await exited, stderr).toBe(0);
      expect(stdout).toContain(`msg=stopping signal=${signal}`);
      expect(stdout).toContain("msg=stopped");
    },
  );
});

describe("long waits", () => {
  test("are taken in steps no longer than a timer can take", async () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, "setTimeout");
    try {
      const controller = new AbortController();
      let done = false;
      const target = Date.now() + 2 * MAX_TIMER_MS + 1000;
      const waiting = sleepUntil(target, () => new Date(), controller.signal).then(() => {
        done = true;
      });
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1000);
      await waiting;
      expect(done).toBe(true);
      const delays = spy.mock.calls.map((call) => Number(call[1]));
      expect(delays).toEqual([MAX_TIMER_MS, MAX_TIMER_MS, 1000]);
    } finally {
      spy.mockRestore();
      vi.useRealTimers();
    }
  });
});
