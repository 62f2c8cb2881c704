import { describe, expect, test } from "vitest";
import type { Config } from "../../src/config/types.ts";
import { load } from "./helpers.ts";

const SECOND = 1_000_000_000;
const MINUTE = 60 * SECOND;

/**
 * controller-runtime.md §1.3 (v0.26.0) and §1.8 (HEAD), podspec-expansion.md §1.4, with our decisions
 * where the two disagree (noted per line).
 */
const SPEC_DEFAULTS: Config = {
  jobSource: "stacks", // ours: an empty job-source without buildkite-token is the Stacks API, as HEAD
  org: "",
  buildkiteToken: "",
  clusterUuid: "",
  graphqlEndpoint: "https://graphql.buildkite.com/v1", // spec: "" meaning this URL
  graphqlResultsLimit: 100,
  paginationDepthLimit: 1, // v0.26.0 (HEAD: 2, for its stacks API)
  paginationPageSize: 1000,
  pollInterval: SECOND,
  staleJobDataTimeout: 10 * SECOND,
  queryResetInterval: 10 * SECOND,
  httpTimeout: 60 * SECOND,
  enableQueuePause: false,
  tags: ["queue=kubernetes"],
  queue: "kubernetes", // the queue tag's value, as HEAD falls back to it
  id: "",
  agentTokenSecret: "buildkite-agent-token",
  maxInFlight: 25,
  jobCreationConcurrency: 5, // v0.26.0 (HEAD: 25 limiter workers)
  workQueueLimit: 1_000_000,
  reservationExpirySeconds: 900,
  k8sClientRateLimiterQps: 10,
  k8sClientRateLimiterBurst: 20,
  imagePullBackoffGracePeriod: 30 * SECOND,
  jobCancelCheckerPollInterval: 5 * SECOND,
  emptyJobGracePeriod: 30 * SECOND,
  podPendingTimeout: 15 * MINUTE,
  enableCompletionWatcher: true,
  namespace: "default",
  image: "ghcr.io/buildkite/agent:3.136.2", // HEAD's bundled agent (v0.26.0: 3.93.1)
  jobPrefix: "buildkite-",
  jobTtl: 10 * MINUTE,
  jobActiveDeadlineSeconds: 21_600,
  defaultTerminationGracePeriodSeconds: 60,
  podSpecPatch: undefined,
  workspaceVolume: undefined,
  workspaceMountSubPathExpr: "",
  agentConfig: undefined,
  defaultCheckoutParams: undefined,
  defaultCommandParams: undefined,
  defaultSidecarParams: undefined,
  defaultMetadata: {},
  additionalRedactedVars: [],
  resourceClasses: undefined,
  defaultResourceClassName: "",
  defaultImagePullPolicy: "",
  defaultImageCheckPullPolicy: "",
  skipImageCheckContainers: false,
  imageCheckContainerCpuLimit: "200m",
  imageCheckContainerMemoryLimit: "128Mi",
  prohibitKubernetesPlugin: false,
  allowPodSpecPatchUnsafeCommandModification: false,
  debug: false,
  logLevel: "info",
  logFormat: "logfmt",
  noColor: false,
  logHttpPayloads: false,
  prometheusPort: 0,
  profilerAddress: "",
};

describe("defaults", () => {
  test("equal the spec's, key for key", () => {
    const { config, warnings } = load();
    expect(config).toEqual(SPEC_DEFAULTS);
    expect(Object.keys(config).sort()).toEqual(Object.keys(SPEC_DEFAULTS).sort());
    expect(warnings).toEqual([]);
  });

  test("the loaded configuration cannot be changed by a consumer", () => {
    const { config } = load();
    expect(Object.isFrozen(config)).toBe(true);
  });
});

describe("effective values (upstream's run-time fallbacks, applied at load)", () => {
  test.each([
    [
      "POLL_INTERVAL",
      "100ms",
      "pollInterval",
      SECOND,
      "poll-interval: 100ms (from env POLL_INTERVAL) is below 1s; using 1s",
    ],
    [
      "STALE_JOB_DATA_TIMEOUT",
      "0s",
      "staleJobDataTimeout",
      10 * SECOND,
      "stale-job-data-timeout: 0s (from env STALE_JOB_DATA_TIMEOUT) is not positive; using 10s",
    ],
    [
      "JOB_CREATION_CONCURRENCY",
      "-2",
      "jobCreationConcurrency",
      5,
      "job-creation-concurrency: -2 (from env JOB_CREATION_CONCURRENCY) is not positive; using 5",
    ],
    [
      "IMAGE_PULL_BACKOFF_GRACE_PERIOD",
      "-5s",
      "imagePullBackoffGracePeriod",
      30 * SECOND,
      "image-pull-backoff-grace-period: -5s (from env IMAGE_PULL_BACKOFF_GRACE_PERIOD) is not positive; using 30s",
    ],
    [
      "JOB_CANCEL_CHECKER_POLL_INTERVAL",
      "0",
      "jobCancelCheckerPollInterval",
      5 * SECOND,
      "job-cancel-checker-poll-interval: 0s (from env JOB_CANCEL_CHECKER_POLL_INTERVAL) is not positive; using 5s",
    ],
  ] as const)(
    "%s=%s becomes its effective value, with a warning",
    (name, value, property, effective, warning) => {
      const { config, warnings } = load({ env: { [name]: value } });
      expect(config[property]).toBe(effective);
      expect(warnings).toEqual([warning]);
    },
  );

  test("empty-job-grace-period has no fallback: 0 means at once", () => {
    expect(load({ env: { EMPTY_JOB_GRACE_PERIOD: "0s" } }).config.emptyJobGracePeriod).toBe(0);
  });

  test("max-in-flight 0 stays 0 (no limit)", () => {
    expect(load({ env: { MAX_IN_FLIGHT: "0" } }).config.maxInFlight).toBe(0);
  });

  test("debug overrides log-level (HEAD)", () => {
    const { config } = load({ env: { DEBUG: "true", LOG_LEVEL: "error" } });
    expect([config.debug, config.logLevel]).toEqual([true, "debug"]);
  });

  test("queue defaults to the queue tag's value", () => {
    expect(load({ env: { TAGS: "os=linux,queue=builds" } }).config.queue).toBe("builds");
  });

  test("a queue key replaces the default queue tag silently, and an explicit one with a warning", () => {
    expect(load({ env: { QUEUE: "fast" } })).toMatchObject({
      config: { queue: "fast", tags: ["queue=fast"] },
      warnings: [],
    });
    const { config, warnings } = load({ env: { QUEUE: "fast", TAGS: "queue=slow,os=linux" } });
    expect(config.tags).toEqual(["queue=fast", "os=linux"]);
    expect(warnings).toEqual([
      'tags: the queue tag "queue=slow" (from env TAGS) is replaced by queue "fast"',
    ]);
  });
});
