/** `agent-stack-k8s render`, run in process with its I/O captured, and once as a real process. */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { VERSION } from "../../src/version.ts";
import { run } from "../support/cli.ts";
import { KUBERNETES_PLUGIN, testJob } from "../support/fixtures.ts";
import { expectValidJob } from "../support/k8s-validate.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

const example = (name: string) => join(ROOT, "examples", name);

describe("render --job", () => {
  test("prints the example job as a valid Job in YAML", async () => {
    const { readFileSync } = await import("node:fs");
    const result = await run(["render", "--job", "job.json"], {
      "job.json": readFileSync(example("job.json"), "utf8"),
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const job = parse(result.stdout);
    expectValidJob(job);
    expect(job.metadata.name).toBe("buildkite-01938a6e-5c1f-4c3b-9d7e-2f4a8b6c0d1e");
    expect(job.metadata.annotations["buildkite.com/expanded-by"]).toBe(`agent-stack-k8s/${VERSION}`);
  });

  test("-o json prints one JSON object", async () => {
    const result = await run(["render", "--job=job.json", "-o", "json"], {
      "job.json": JSON.stringify(testJob()),
    });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).kind).toBe("Job");
  });

  test("a job the stack would fail: exit 1 and the reason on stderr", async () => {
    const job = testJob({ plugin: { podSpec: { containers: [{ image: "UPPER" }] } } });
    const result = await run(["render", "--job", "job.json"], { "job.json": JSON.stringify(job) });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      `job.json: error: job ${job.uuid} would be failed: agent-stack-k8s failed to build a podSpec for the job: repository name must be lowercase "UPPER" for container "container-0" (ASK_IMAGE_REFERENCE)`,
    );
  });

  test("configuration from flags and a --config file changes the Job", async () => {
    const config = "job-prefix: ci-\nnamespace: builds\ndefault-metadata:\n  labels:\n    team: infra\n";
    const result = await run(
      ["render", "--config", "config.yaml", "--job", "job.json", "--prohibit-kubernetes-plugin=false"],
      { "config.yaml": config, "job.json": JSON.stringify(testJob()) },
    );
    expect(result.status).toBe(0);
    const job = parse(result.stdout);
    expect(job.metadata.name).toBe("ci-0195a2b0-0000-4000-8000-000000000001");
    expect(job.metadata.namespace).toBe("builds");
    expect(job.metadata.labels.team).toBe("infra");
  });

  test("an environment variable configures it too", async () => {
    const job = testJob({ plugin: {} });
    const result = await run(
      ["render", "--job", "job.json"],
      { "job.json": JSON.stringify(job) },
      { PROHIBIT_KUBERNETES_PLUGIN: "true" },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("the kubernetes plugin is prohibited by this controller");
  });

  test("--pod-template files back the podTemplate of a step", async () => {
    const template = {
      apiVersion: "v1",
      kind: "PodTemplate",
      metadata: { name: "gpu" },
      template: {
        spec: {
          nodeSelector: { gpu: "yes" },
          containers: [{ name: "cuda", image: "nvidia/cuda:12.4.1-base-ubuntu22.04" }],
        },
      },
    };
    const job = testJob({ plugin: { podTemplate: "gpu" } });
    const result = await run(["render", "--job", "job.json", "--pod-template", "templates.yaml"], {
      "job.json": JSON.stringify(job),
      "templates.yaml": `# templates\n---\n${JSON.stringify(template)}\n`,
    });
    expect(result.stderr).toBe("");
    const rendered = parse(result.stdout);
    expect(rendered.spec.template.spec.nodeSelector).toEqual({ gpu: "yes" });
    expect(rendered.metadata.annotations["buildkite.com/pod-template-name"]).toBe("gpu");
  });

  test("a podTemplate no file defines fails the job with the fetch error", async () => {
    const result = await run(["render", "--job", "job.json"], {
      "job.json": JSON.stringify(testJob({ plugin: { podTemplate: "gpu" } })),
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Error fetching podTemplate "gpu": podtemplates "gpu" not found');
  });
});

describe("render --pipeline", () => {
  test("each command step of the example pipeline gives a valid Job", async () => {
    const { readFileSync } = await import("node:fs");
    const result = await run(["render", "--pipeline", "pipeline.yaml"], {
      "pipeline.yaml": readFileSync(example("pipeline.yaml"), "utf8"),
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const jobs = parseAllDocuments(result.stdout).map((document) => document.toJS());
    expect(jobs.length).toBe(3);
    for (const job of jobs) expectValidJob(job);
    expect(new Set(jobs.map((job) => job.metadata.name)).size).toBe(3);
  });

  test("a step's image and plugin reach its Job", async () => {
    const pipeline = [
      "steps:",
      "  - command: make test",
      "    image: golang:1.23",
      "    plugins:",
      "      - kubernetes:",
      "          checkout: { skip: true }",
    ].join("\n");
    const result = await run(["render", "--pipeline", "p.yaml", "-o", "json"], { "p.yaml": pipeline });
    expect(result.status).toBe(0);
    const job = JSON.parse(result.stdout);
    const containers = job.spec.template.spec.containers;
    expect(containers.map((c: { name: string }) => c.name)).toEqual(["container-0", "agent"]);
    expect(containers[0].image).toBe("golang:1.23");
  });

  test("several Jobs in JSON are a List", async () => {
    const result = await run(["render", "--pipeline", "p.yaml", "-o", "json"], {
      "p.yaml": "steps:\n  - command: a\n  - command: b\n",
    });
    const list = JSON.parse(result.stdout);
    expect(list.kind).toBe("List");
    expect(list.items.length).toBe(2);
  });

  test("a bad pipeline names the file and the place", async () => {
    const result = await run(["render", "--pipeline", "p.yaml"], {
      "p.yaml": "steps:\n  - command: [1, {a: b}]\n",
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("p.yaml");
    expect(result.stderr).toContain("steps[0]");
  });

  test("one failing step fails the run and nothing is printed: all or nothing", async () => {
    const plugins = JSON.stringify([
      { [KUBERNETES_PLUGIN]: { podSpec: { containers: [{ image: "BAD" }] } } },
    ]);
    const pipeline = `steps:\n  - command: ok\n  - command: broken\n    plugins: ${plugins}\n`;
    const result = await run(["render", "--pipeline", "p.yaml"], { "p.yaml": pipeline });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      'p.yaml:4:110: error: step steps[1] would be failed: agent-stack-k8s failed to build a podSpec for the job: repository name must be lowercase "BAD" for container "container-0" (ASK_IMAGE_REFERENCE)',
    );
    expect(result.stderr).toContain("1 of 2 jobs would be failed; nothing was printed");
  });
});

describe("usage errors exit 2 with a message", () => {
  test.each([
    [["render"], "give exactly one of --job FILE and --pipeline FILE"],
    [["render", "--job", "a", "--pipeline", "b"], "give exactly one of --job FILE and --pipeline FILE"],
    [["render", "--job", "missing.json"], "--job missing.json: cannot read it"],
    [["render", "--jobs", "x"], "--jobs"],
    [["render", "--output", "xml", "--job", "a"], "xml"],
    [["render", "--max-in-flight", "lots", "--job", "a"], "max-in-flight"],
    [["render", "--job", "a", "extra"], 'unexpected argument "extra"'],
    [["launch"], 'unknown command "launch"'],
  ])("%j", async (args, message) => {
    const result = await run(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });

  test("a job file that is not JSON", async () => {
    const result = await run(["render", "--job", "job.json"], { "job.json": "{" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("job.json: not valid JSON");
  });

  test("a job file that is not a JobTypeCommand names the field", async () => {
    const result = await run(["render", "--job", "job.json"], {
      "job.json": JSON.stringify({ uuid: "Not A Uuid" }),
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("$.uuid");
  });
});

test("help and version", async () => {
  expect((await run(["--help"])).stdout).toContain("render");
  expect((await run([])).status).toBe(2);
  const help = await run(["render", "--help"]);
  expect(help.status).toBe(0);
  for (const flag of ["--job FILE", "--pipeline FILE", "--pod-template FILE", "--output", "--job-prefix"]) {
    expect(help.stdout).toContain(flag);
  }
  expect((await run(["version"])).stdout).toBe(`${VERSION}\n`);
});

test("the executable runs under the Node from node_modules and renders a job read from stdin", async () => {
  const dir = mkdtempSync(join(tmpdir(), "render-"));
  const jobFile = join(dir, "job.json");
  writeFileSync(jobFile, JSON.stringify(testJob()));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(ROOT, "bin/agent-stack-k8s.js"), "render", "--job", jobFile],
    {
      timeout: 20_000,
    },
  );
  expectValidJob(parse(stdout));
});
