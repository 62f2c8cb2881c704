import { expect, test } from "vitest";
import { redactConfigFile } from "../../diagnose/configuration.ts";
import { REDACTED, Redactor } from "../../diagnose/redaction.ts";

test("env values whose names match the agent's redaction patterns are replaced, wherever an env list is", () => {
  const redactor = new Redactor();
  const created = new Date("2025-06-01T12:00:00Z");
  const pod = {
    metadata: { name: "p", creationTimestamp: created, managedFields: [{ manager: "kubectl" }] },
    spec: {
      containers: [
        {
          name: "main",
          env: [
            { name: "GITHUB_TOKEN", value: "ghp_0123456789" },
            { name: "db_password", value: "hunter2-and-more" },
            { name: "PLAIN", value: "visible" },
            { name: "FROM_SECRET_TOKEN", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
          ],
        },
      ],
    },
  };
  const redacted = redactor.object(pod);
  expect(redacted.spec.containers[0]?.env).toEqual([
    { name: "GITHUB_TOKEN", value: REDACTED },
    { name: "db_password", value: REDACTED },
    { name: "PLAIN", value: "visible" },
    { name: "FROM_SECRET_TOKEN", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
  ]);
  expect(redacted.metadata).toEqual({ name: "p", creationTimestamp: created });
  expect(pod.spec.containers[0]?.env[0]?.value).toBe("ghp_0123456789");
  expect(redactor.count).toBe(2);
  // Seen once, taken out of any text afterwards (a log that echoes it).
  expect(redactor.text("cloning with ghp_0123456789 then hunter2-and-more")).toBe(
    `cloning with ${REDACTED} then ${REDACTED}`,
  );
});

test("more patterns come from additional-redacted-vars; short values are not scrubbed from text", () => {
  const redactor = new Redactor();
  redactor.addPatterns(["MY_*", "EXACT"]);
  const redacted = redactor.object({
    env: [
      { name: "MY_THING", value: "abcdefgh" },
      { name: "EXACT", value: "xyz" },
      { name: "EXACTLY", value: "kept" },
    ],
  });
  expect(redacted.env.map((entry) => entry.value)).toEqual([REDACTED, REDACTED, "kept"]);
  expect(redactor.text("xyz abcdefgh")).toBe(`xyz ${REDACTED}`);
});

test("secrets inside JSON env values, the buildkite.com/job annotation and last-applied copies are redacted", () => {
  const redactor = new Redactor();
  const plugins = JSON.stringify([
    {
      "github.com/buildkite-plugins/kubernetes-buildkite-plugin": {
        podSpec: { containers: [{ env: [{ name: "NPM_TOKEN", value: "npm-0123456789" }] }] },
      },
    },
  ]);
  const job = {
    metadata: {
      annotations: {
        "buildkite.com/job": JSON.stringify({
          uuid: "u",
          env: ["DEPLOY_KEY=plain", "AWS_SECRET_KEY=aws-0123456789", "NOEQUALS"],
        }),
        "kubectl.kubernetes.io/last-applied-configuration":
          '{"env":[{"name":"A_TOKEN","value":"copy-0123456789"}]}',
        other: "kept",
      },
    },
    spec: { containers: [{ env: [{ name: "BUILDKITE_PLUGINS", value: plugins }] }] },
  };
  const text = JSON.stringify(redactor.object(job));
  for (const secret of ["npm-0123456789", "aws-0123456789", "copy-0123456789"])
    expect(text).not.toContain(secret);
  expect(text).toContain("DEPLOY_KEY=plain");
  expect(text).toContain("NOEQUALS");
  expect(text).toContain('"other":"kept"');
  expect(redactor.object({ metadata: { annotations: { "buildkite.com/job": "{not json" } } })).toEqual({
    metadata: { annotations: { "buildkite.com/job": `${REDACTED} (not JSON)` } },
  });
});

test("config.yaml keeps its comments and layout, with the secret keys and secret env values redacted", () => {
  const redactor = new Redactor();
  const text = [
    "# our stack",
    "org: acme # the org",
    "buildkite-token: bkua_0123456789",
    "pod-spec-patch:",
    "  containers:",
    "    - name: container-0",
    "      env:",
    "        - name: NPM_TOKEN",
    "          value: npm-0123456789",
    "        - name: PLAIN",
    "          value: shown",
    "",
  ].join("\n");
  const redacted = redactConfigFile(text, redactor);
  expect(redacted.error).toBeUndefined();
  expect(redacted.text).toBe(
    text.replace("bkua_0123456789", `"${REDACTED}"`).replace("npm-0123456789", `"${REDACTED}"`),
  );
  expect(redactor.text("echo bkua_0123456789")).toBe(`echo ${REDACTED}`);
  const broken = redactConfigFile("buildkite-token: [unclosed\n", redactor);
  expect(broken.error).toMatch(/./);
  expect(broken.text).not.toContain("unclosed");
});
