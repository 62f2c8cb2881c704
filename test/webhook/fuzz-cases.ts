/**
 * The fuzzer's cases: random and malformed AdmissionReview bodies from a seeded PRNG. Each case says what
 * it broke (`note`), so a failure can be reproduced and read.
 */
import { readFileSync } from "node:fs";
import { buildSkeleton, serializeJob } from "../../src/admission/skeleton.ts";
import { parseBuildkiteJob } from "../../src/buildkite/job.ts";
import type { Job } from "../../src/generated/k8s-types.ts";
import { admissionReview, testConfig, testJob } from "../support/fixtures.ts";

/** mulberry32: small, fast and good enough to pick cases reproducibly. */
export function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number) => Math.floor(next() * below);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}
export type Random = ReturnType<typeof prng>;

export const config = testConfig();
/**
 * Values planted in the job's env and the plugin's configuration: whatever a case breaks, none of them
 * may appear in the webhook's log.
 */
export const PLANTED_SECRETS = ["fuzz-env-secret-7f3a9c", "fuzz-plugin-secret-2d81e4"] as const;
const exampleJob = parseBuildkiteJob(
  JSON.parse(readFileSync(new URL("../../examples/job.json", import.meta.url), "utf8")),
  "examples/job.json",
);
exampleJob.env.push(`API_TOKEN=${PLANTED_SECRETS[0]}`, `SIGNING_KEY=${PLANTED_SECRETS[0]}-2`);
export const baseReview = admissionReview(buildSkeleton(exampleJob, config), "fuzz-uid");
const baseBody = JSON.stringify(baseReview);

/** A labelled Job from another tool, with its own pod template, as kube-apiserver sends it (nulls included). */
const externalJob: unknown = {
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: {
    name: "external",
    namespace: "ci",
    creationTimestamp: null,
    labels: { "buildkite.com/expand": "true" },
    annotations: { "buildkite.com/job": serializeJob(testJob({ command: "make" })) },
  },
  spec: {
    backoffLimit: 6,
    template: {
      metadata: { creationTimestamp: null },
      spec: {
        containers: [
          {
            name: "build",
            image: "golang:1.23",
            command: ["make"],
            env: [{ name: "A", value: "1" }],
            ports: [{ containerPort: 8080 }],
            resources: { limits: { cpu: "1", memory: "1Gi" } },
            volumeMounts: [{ name: "cache", mountPath: "/cache" }],
          },
        ],
        volumes: [{ name: "cache", emptyDir: {} }],
        tolerations: [{ key: "ci", operator: "Exists" }],
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 30,
      },
    },
  },
};
const externalBody = JSON.stringify(admissionReview(externalJob as Job, "fuzz-external"));

export interface Case {
  readonly kind: string;
  /** What was broken, where. */
  readonly note: string;
  readonly body: string | Buffer;
  readonly headers: Record<string, string>;
}

const JSON_TYPE = { "content-type": "application/json" };

function randomBytes(random: Random, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = random.int(256);
  return bytes;
}

/** A value of some JSON type, chosen to be the wrong one wherever it lands. */
function wrongValue(random: Random): unknown {
  return random.pick<() => unknown>([
    () => null,
    () => random.int(2) === 0,
    () => random.int(1e9) - 5e8,
    () => random.next() * 1e300,
    () => -0.5,
    () => "",
    () => "x".repeat(random.int(50)),
    () => "\u0000\ud800\uffff",
    () => [],
    () => [null, 1, "a", {}],
    () => ({}),
    () => ({ __proto__: { polluted: true } }),
    () => JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {}}}'),
    () => "x".repeat(100_000),
  ])();
}

/** Every path to a value inside `value`, as keys. */
function paths(value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) paths(item, [...prefix, index], out);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) paths(item, [...prefix, key], out);
  }
  return out;
}

function setAt(root: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
  return root;
}

/** A review whose buildkite.com/job annotation is a job with a randomly broken field. */
function brokenAnnotation(random: Random): { body: string; note: string } {
  const job = JSON.parse(JSON.stringify(exampleJob)) as Record<string, unknown>;
  const path = random.pick(paths(job));
  const value = wrongValue(random);
  setAt(job, path, value);
  const review = JSON.parse(baseBody);
  const truncated = random.int(4) === 0;
  review.request.object.metadata.annotations["buildkite.com/job"] = truncated
    ? JSON.stringify(job).slice(0, random.int(200))
    : JSON.stringify(job);
  return {
    body: JSON.stringify(review),
    note: `job ${describe(path, value)}${truncated ? ", truncated" : ""}`,
  };
}

function describe(path: ReadonlyArray<string | number>, value: unknown): string {
  const text = JSON.stringify(value) ?? "undefined";
  return `$.${path.join(".")} = ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

/** A review whose kubernetes plugin config has a randomly broken field. */
export function brokenPlugin(random: Random): { body: string; note: string } {
  const plugin: Record<string, unknown> = {
    podSpec: {
      containers: [
        {
          name: "tests",
          image: "golang:1.23",
          command: ["go test"],
          env: [{ name: "TOKEN", value: PLANTED_SECRETS[1] }],
        },
      ],
      volumes: [{ name: "cache", emptyDir: {} }],
    },
    sidecars: [{ image: "redis:7" }],
    checkout: { skip: false, cloneFlags: "--depth=1" },
    podSpecPatch: { containers: [{ name: "tests", resources: { limits: { memory: "1Gi" } } }] },
    metadata: { labels: { team: "ci" } },
    commandParams: { interposer: "buildkite" },
  };
  const path = random.pick(paths(plugin).slice(1));
  const value = wrongValue(random);
  setAt(plugin, path, value);
  const job = testJob({ plugin, env: { API_TOKEN: PLANTED_SECRETS[0] } });
  return {
    body: JSON.stringify(admissionReview(buildSkeleton(job, config), "fuzz-plugin")),
    note: `plugin ${describe(path, value)}`,
  };
}

/** A job whose env or plugin carries a planted value where a message might quote it. */
function misplacedSecret(random: Random): { body: string; note: string } {
  const [envSecret, pluginSecret] = PLANTED_SECRETS;
  const annotated = (env: unknown, note: string) => {
    const review = JSON.parse(baseBody);
    const job = { ...JSON.parse(serializeJob(exampleJob)), env };
    review.request.object.metadata.annotations["buildkite.com/job"] = JSON.stringify(job);
    return { body: JSON.stringify(review), note };
  };
  const withPlugins = (plugins: string, note: string) =>
    annotated(
      [
        ...exampleJob.env.filter((entry) => !entry.startsWith("BUILDKITE_PLUGINS=")),
        `BUILDKITE_PLUGINS=${plugins}`,
      ],
      note,
    );
  switch (random.int(8)) {
    case 0:
      return annotated(exampleJob.env.join("\n"), "env is one string");
    case 1:
      return annotated(`API_TOKEN=${envSecret}`, "env is a K=V string");
    case 2:
      return annotated([...exampleJob.env, `API_TOKEN${envSecret}`], "an env entry without =");
    case 3:
      return annotated([`=${envSecret}`], "an env entry without a name");
    case 4:
      return withPlugins(`${pluginSecret} not json`, "BUILDKITE_PLUGINS is not JSON");
    case 5:
      return withPlugins(
        JSON.stringify([{ "docker#v5.12.0": { environment: [pluginSecret] }, "other#v1": {} }]),
        "a plugin entry with two keys",
      );
    case 6:
      return withPlugins(JSON.stringify([pluginSecret]), "a plugin entry that is a string");
    default: {
      const review = JSON.parse(baseBody);
      const text = review.request.object.metadata.annotations["buildkite.com/job"] as string;
      const cut = text.indexOf(envSecret) + envSecret.length;
      review.request.object.metadata.annotations["buildkite.com/job"] = `${text.slice(0, cut)}",x`;
      return { body: JSON.stringify(review), note: "the annotation broken right after an env value" };
    }
  }
}

export function generate(random: Random): Case {
  const kind = random.pick([
    "a secret where a message could quote it",
    "random bytes",
    "truncated review",
    "deeply nested JSON",
    "wrong type in the review",
    "wrong type in the annotation's job",
    "wrong type in the plugin",
    "huge string",
    "invalid UTF-8",
    "wrong content type",
  ]);
  switch (kind) {
    case "random bytes":
      return { kind, note: "", body: randomBytes(random, random.int(2_000)), headers: JSON_TYPE };
    case "truncated review": {
      const length = random.int(baseBody.length);
      return { kind, note: `at ${length}`, body: baseBody.slice(0, length), headers: JSON_TYPE };
    }
    case "deeply nested JSON": {
      const depth = 1 + random.int(20_000);
      const nested =
        random.int(2) === 0
          ? `${"[".repeat(depth)}${"]".repeat(depth)}`
          : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
      const review = random.int(2) === 0 ? nested : baseBody.replace('"spec":{', `"spec":{"deep":${nested},`);
      return { kind, note: `depth ${depth}`, body: review, headers: JSON_TYPE };
    }
    case "wrong type in the review": {
      const review = JSON.parse(random.int(2) === 0 ? baseBody : externalBody);
      const path = random.pick(paths(review));
      const value = wrongValue(random);
      setAt(review, path, value);
      return { kind, note: describe(path, value), body: JSON.stringify(review), headers: JSON_TYPE };
    }
    case "wrong type in the annotation's job":
      return { kind, ...brokenAnnotation(random), headers: JSON_TYPE };
    case "wrong type in the plugin":
      return { kind, ...brokenPlugin(random), headers: JSON_TYPE };
    case "a secret where a message could quote it":
      return { kind, ...misplacedSecret(random), headers: JSON_TYPE };
    case "huge string": {
      const review = JSON.parse(baseBody);
      // Over the 7 MiB limit one time in ten: each of those costs a full upload.
      const size = random.int(10) === 0 ? 7.5 * 1024 * 1024 : random.pick([10_000, 100_000, 1_000_000]);
      review.request.object.metadata.annotations["example.com/huge"] = "x".repeat(size);
      return { kind, note: `${size} characters`, body: JSON.stringify(review), headers: JSON_TYPE };
    }
    case "invalid UTF-8": {
      const bytes = Buffer.from(baseBody);
      for (let i = 0; i < 1 + random.int(5); i++) bytes[random.int(bytes.length)] = 0x80 + random.int(0x80);
      return { kind, note: "", body: bytes, headers: JSON_TYPE };
    }
    default: {
      const type = random.pick([
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "",
        "application/jsonx",
        "*/*",
      ]);
      return { kind, note: type, body: baseBody, headers: type === "" ? {} : { "content-type": type } };
    }
  }
}
