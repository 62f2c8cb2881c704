import { describe, expect, test } from "vitest";
import { CONFIG_PATH, load, loadError, problemOf } from "./helpers.ts";

const SECOND = 1_000_000_000;

describe("integers", () => {
  test("the message names key, value, source and expectation", () => {
    const problem = problemOf({ env: { MAX_IN_FLIGHT: "abc" } });
    expect(problem.code).toBe("ASK_CONFIG_INVALID_VALUE");
    expect(problem.message).toBe(
      'max-in-flight: "abc" (from env MAX_IN_FLIGHT) is not an integer; expected an integer ≥ 0',
    );
  });

  test("a value out of range names the range", () => {
    expect(problemOf({ args: ["--graphql-results-limit", "501"] }).message).toBe(
      "graphql-results-limit: 501 (from flag --graphql-results-limit) is out of range; expected an integer from 1 to 500",
    );
    expect(problemOf({ file: "pagination-depth-limit: 0\n" }).message).toBe(
      `pagination-depth-limit: 0 (from file ${CONFIG_PATH}:1) is out of range; expected an integer from 1 to 20`,
    );
    expect(problemOf({ env: { MAX_IN_FLIGHT: "-1" } }).message).toContain(
      "is out of range; expected an integer ≥ 0",
    );
  });

  test.each([
    ["pagination-page-size", "0", "an integer from 1 to 1000"],
    ["pagination-page-size", "1001", "an integer from 1 to 1000"],
    ["reservation-expiry-seconds", "3601", "an integer from 0 to 3600"],
    ["reservation-expiry-seconds", "-1", "an integer from 0 to 3600"],
    ["job-active-deadline-seconds", "0", "an integer ≥ 1"],
    ["default-termination-grace-period-seconds", "0", "an integer ≥ 1"],
    ["work-queue-limit", "0", "an integer ≥ 1"],
  ])("%s refuses %s", (key, value, expected) => {
    expect(problemOf({ args: [`--${key}`, value] }).message).toContain(`; expected ${expected}`);
  });

  test("range ends are accepted", () => {
    const { config } = load({
      args: [
        "--graphql-results-limit=500",
        "--pagination-depth-limit=20",
        "--reservation-expiry-seconds=3600",
      ],
    });
    expect([
      config.graphqlResultsLimit,
      config.paginationDepthLimit,
      config.reservationExpirySeconds,
    ]).toEqual([500, 20, 3600]);
  });

  test("a file value must be a YAML integer, not a string or a fraction", () => {
    expect(problemOf({ file: 'max-in-flight: "5"\n' }).message).toBe(
      `max-in-flight: "5" (from file ${CONFIG_PATH}:1) is not an integer; expected an integer ≥ 0`,
    );
    expect(problemOf({ file: "max-in-flight: 2.5\n" }).message).toContain("2.5 (from file");
  });

  test("text integers are decimal and may carry a sign", () => {
    expect(load({ env: { MAX_IN_FLIGHT: "010" } }).config.maxInFlight).toBe(10);
    expect(load({ env: { MAX_IN_FLIGHT: "+7" } }).config.maxInFlight).toBe(7);
    expect(problemOf({ env: { MAX_IN_FLIGHT: "0x10" } }).message).toContain("is not an integer");
  });
});

describe("ports (uint16)", () => {
  test("0 to 65535", () => {
    expect(load({ env: { PROMETHEUS_PORT: "9090" } }).config.prometheusPort).toBe(9090);
    expect(load({ env: { PROMETHEUS_PORT: "65535" } }).config.prometheusPort).toBe(65535);
    expect(problemOf({ env: { PROMETHEUS_PORT: "65536" } }).message).toBe(
      "prometheus-port: 65536 (from env PROMETHEUS_PORT) is out of range; expected a port number from 0 to 65535 (0 disables it)",
    );
  });
});

describe("booleans", () => {
  test.each([
    ["true", true],
    ["True", true],
    ["TRUE", true],
    ["t", true],
    ["1", true],
    ["false", false],
    ["F", false],
    ["0", false],
  ])("env text %s is Go's strconv.ParseBool %s", (text, value) => {
    expect(load({ env: { PROHIBIT_KUBERNETES_PLUGIN: text } }).config.prohibitKubernetesPlugin).toBe(value);
  });

  test("a bare flag is true, --flag=false is false", () => {
    expect(load({ args: ["--debug"] }).config.debug).toBe(true);
    expect(load({ args: ["--debug=false"], env: { DEBUG: "true" } }).config.debug).toBe(false);
  });

  test("a boolean flag does not take the next argument as its value", () => {
    const loaded = load({ args: ["--debug", "false"] });
    expect(loaded.config.debug).toBe(true);
    expect(loaded.positionals).toEqual(["false"]);
  });

  test("other text is refused", () => {
    expect(problemOf({ env: { DEBUG: "yes" } }).message).toBe(
      'debug: "yes" (from env DEBUG) is not a boolean; expected true or false (also 1/0, t/f, TRUE/FALSE)',
    );
    expect(problemOf({ args: ["--debug=maybe"] }).message).toContain("(from flag --debug) is not a boolean");
  });

  test("a file value must be a YAML boolean: `yes` is a string in YAML 1.2", () => {
    expect(load({ file: "debug: true\n" }).config.debug).toBe(true);
    expect(problemOf({ file: "debug: yes\n" }).message).toBe(
      `debug: "yes" (from file ${CONFIG_PATH}:1) is not a boolean; expected true or false`,
    );
    expect(problemOf({ file: 'debug: "true"\n' }).message).toContain("is not a boolean");
  });
});

describe("durations", () => {
  test("Go syntax from every source", () => {
    expect(load({ args: ["--poll-interval", "1.5s"] }).config.pollInterval).toBe(1.5 * SECOND);
    expect(load({ env: { JOB_TTL: "2h45m" } }).config.jobTtl).toBe((2 * 3600 + 45 * 60) * SECOND);
    expect(load({ file: "empty-job-grace-period: 300ms\n" }).config.emptyJobGracePeriod).toBe(0.3 * SECOND);
  });

  test("an invalid duration names Go's parse error and the syntax", () => {
    expect(problemOf({ env: { JOB_TTL: "10" } }).message).toBe(
      'job-ttl: "10" (from env JOB_TTL) is not a duration (time: missing unit in duration "10"); expected a Go duration such as 300ms, 1.5h or 2h45m (units ns, us, µs, ms, s, m, h), at least 0s',
    );
    expect(problemOf({ args: ["--poll-interval=1d"] }).message).toContain(
      'time: unknown unit "d" in duration "1d"',
    );
  });

  test("a bare YAML number is refused (Go would read it as nanoseconds), except 0", () => {
    expect(problemOf({ file: "job-ttl: 600\n" }).message).toBe(
      `job-ttl: 600 (from file ${CONFIG_PATH}:1) is not a duration string (a bare number would be nanoseconds); expected a Go duration such as 300ms, 1.5h or 2h45m (units ns, us, µs, ms, s, m, h), at least 0s`,
    );
    expect(load({ file: "empty-job-grace-period: 0\n" }).config.emptyJobGracePeriod).toBe(0);
  });

  test("durations that cannot be negative refuse a negative value", () => {
    expect(problemOf({ env: { JOB_TTL: "-1m" } }).message).toContain('"-1m" (from env JOB_TTL) is negative');
    expect(problemOf({ env: { EMPTY_JOB_GRACE_PERIOD: "-1s" } }).message).toContain("is negative");
  });
});

describe("string lists", () => {
  test("a list flag repeats and takes commas; the flag replaces lower sources", () => {
    const { config } = load({
      args: ["--tags", "queue=a,os=linux", "--tags=arch=arm64"],
      env: { TAGS: "queue=env" },
    });
    expect(config.tags).toEqual(["queue=a", "os=linux", "arch=arm64"]);
  });

  test("a file list is a YAML sequence of strings", () => {
    expect(
      load({ file: "additional-redacted-vars: [MY_*, '*_PAT']\n" }).config.additionalRedactedVars,
    ).toEqual(["MY_*", "*_PAT"]);
    expect(problemOf({ file: "additional-redacted-vars: MY_*\n" }).message).toBe(
      `additional-redacted-vars: "MY_*" (from file ${CONFIG_PATH}:1) is not a list of strings; expected a YAML list of strings`,
    );
    expect(problemOf({ file: "tags: [queue=a, 3]\n" }).message).toContain("is not a list of strings");
  });

  test("an empty flag value empties the list", () => {
    expect(
      load({ args: ["--additional-redacted-vars="], file: "additional-redacted-vars: [A]\n" }).config
        .additionalRedactedVars,
    ).toEqual([]);
  });

  test("every bad tag is reported with its index", () => {
    const error = loadError({ env: { TAGS: "queue=a,nokey,bad key=x,os=Not Valid" } });
    expect(error.problems.map((problem) => problem.message)).toEqual([
      'tags[1]: "nokey" (from env TAGS) is not a k=v tag; expected k=v, where tag.buildkite.com/k is a valid label key and v a valid label value',
      'tags[2]: "bad key=x" (from env TAGS) has a key that gives the invalid label key tag.buildkite.com/bad key; expected k=v, where tag.buildkite.com/k is a valid label key and v a valid label value',
      'tags[3]: "os=Not Valid" (from env TAGS) has a value that is not a valid label value; expected k=v, where tag.buildkite.com/k is a valid label key and v a valid label value',
    ]);
  });

  test("a tag's value may contain '=' after the first one only if it is a label value; an empty value is one", () => {
    expect(load({ env: { TAGS: "queue=a,empty=" } }).config.tags).toEqual(["queue=a", "empty="]);
    expect(problemOf({ env: { TAGS: "queue=kubernetes=2" } }).message).toContain("not a valid label value");
  });
});

describe("enumerations", () => {
  test("pull policies are Kubernetes' three, or empty", () => {
    expect(
      load({ env: { DEFAULT_IMAGE_CHECK_PULL_POLICY: "Never" } }).config.defaultImageCheckPullPolicy,
    ).toBe("Never");
    expect(load({ file: 'default-image-pull-policy: ""\n' }).config.defaultImagePullPolicy).toBe("");
    expect(problemOf({ env: { DEFAULT_IMAGE_PULL_POLICY: "always" } }).message).toBe(
      'default-image-pull-policy: "always" (from env DEFAULT_IMAGE_PULL_POLICY) is not allowed; expected one of "Always", "IfNotPresent", "Never" or "" (unset)',
    );
  });

  test("log level and format", () => {
    const { config } = load({ args: ["--log-level=warn", "--log-format", "json"] });
    expect([config.logLevel, config.logFormat]).toEqual(["warn", "json"]);
    expect(problemOf({ env: { LOG_LEVEL: "trace" } }).message).toBe(
      'log-level: "trace" (from env LOG_LEVEL) is not allowed; expected one of "debug", "info", "warn", "error"',
    );
    expect(problemOf({ file: "log-format: text\n" }).message).toContain('expected one of "logfmt", "json"');
  });
});

describe("strings with rules", () => {
  test("a file string must be a YAML string", () => {
    expect(problemOf({ file: "org: 1234\n" }).message).toBe(
      `org: 1234 (from file ${CONFIG_PATH}:1) is not a string; expected a string (quote it in YAML)`,
    );
    expect(load({ file: 'org: "1234"\n' }).config.org).toBe("1234");
  });

  test("image must parse as an image reference (upstream: Invalid default image reference!)", () => {
    expect(
      load({ env: { IMAGE: `registry:5000/team/agent:3.99@sha256:${"a".repeat(64)}` } }).config.image,
    ).toContain("registry:5000");
    expect(problemOf({ env: { IMAGE: "Buildkite/Agent" } }).message).toBe(
      'image: "Buildkite/Agent" (from env IMAGE) is not an image reference (Invalid default image reference!: repository name must be lowercase); expected an image reference such as ghcr.io/buildkite/agent:3.136.2',
    );
    expect(problemOf({ args: ["--image", "agent:"] }).message).toContain("invalid reference format");
  });

  test("image check limits are quantities, with HEAD's messages", () => {
    expect(problemOf({ env: { IMAGE_CHECK_CONTAINER_CPU_LIMIT: "lots" } }).message).toContain(
      "(invalid CPU resource limit defined: lots)",
    );
    expect(problemOf({ env: { IMAGE_CHECK_CONTAINER_MEMORY_LIMIT: "1GB" } }).message).toContain(
      "(invalid memory resource limit defined: 1GB)",
    );
    const { config } = load({
      file: "image-check-container-cpu-limit: 0.5\nimage-check-container-memory-limit: 1Gi\n",
    });
    expect([config.imageCheckContainerCpuLimit, config.imageCheckContainerMemoryLimit]).toEqual([
      "0.5",
      "1Gi",
    ]);
  });

  test("profiler-address follows hostname_port", () => {
    expect(load({ env: { PROFILER_ADDRESS: ":6060" } }).config.profilerAddress).toBe(":6060");
    expect(problemOf({ env: { PROFILER_ADDRESS: "[::1]:6060" } }).message).toBe(
      'profiler-address: "[::1]:6060" (from env PROFILER_ADDRESS) is not a valid host:port; expected host:port with a port from 1 to 65535 and an empty host, a host name or an IPv4 address, such as :6060 or localhost:6060',
    );
  });

  test("Kubernetes names are checked where the stack uses them", () => {
    expect(problemOf({ env: { NAMESPACE: "Build_Kite" } }).message).toContain(
      'namespace: "Build_Kite" (from env NAMESPACE) is not a valid Kubernetes name; expected an RFC 1123 label',
    );
    expect(problemOf({ env: { AGENT_TOKEN_SECRET: "My Secret" } }).message).toContain(
      "an RFC 1123 subdomain",
    );
    expect(problemOf({ env: { BUILDKITE_K8S_STACK_CONTROLLER_ID: "-stack" } }).message).toContain(
      "is not a valid label value",
    );
    expect(problemOf({ env: { QUEUE: "a b" } }).message).toContain("is not a valid label value");
  });

  test("job-prefix leaves room for the 36-character job UUID in a 63-character Job name", () => {
    expect(load({ env: { JOB_PREFIX: "a".repeat(27) } }).config.jobPrefix).toHaveLength(27);
    expect(problemOf({ env: { JOB_PREFIX: "a".repeat(28) } }).message).toContain("cannot start a Job name");
    expect(problemOf({ env: { JOB_PREFIX: "BK-" } }).message).toContain("cannot start a Job name");
  });

  test("cluster-uuid is a UUID and graphql-endpoint an http(s) URL", () => {
    expect(problemOf({ env: { CLUSTER_UUID: "my-cluster" } }).message).toContain("is not a UUID");
    expect(problemOf({ env: { GRAPHQL_ENDPOINT: "graphql.buildkite.com" } }).message).toContain(
      "is not an http(s) URL",
    );
    expect(load({ env: { GRAPHQL_ENDPOINT: "http://localhost:8080/v1" } }).config.graphqlEndpoint).toBe(
      "http://localhost:8080/v1",
    );
  });

  test("an empty graphql-endpoint means the default endpoint, as upstream", () => {
    expect(load({ file: 'graphql-endpoint: ""\n' }).config.graphqlEndpoint).toBe(
      "https://graphql.buildkite.com/v1",
    );
  });
});

describe("all problems at once", () => {
  test("every bad value of every source is reported together, in key order", () => {
    const error = loadError({
      args: ["--graphql-results-limit", "0"],
      env: { MAX_IN_FLIGHT: "x", DEBUG: "maybe" },
      file: "job-ttl: soon\nlog-level: loud\n",
    });
    expect(error.code).toBe("ASK_CONFIG_INVALID_VALUE");
    expect(error.problems.map((problem) => problem.key)).toEqual([
      "graphql-results-limit",
      "max-in-flight",
      "job-ttl",
      "debug",
      "log-level",
    ]);
    expect(error.message.split("\n")).toHaveLength(5);
  });
});
