/** The help of every command reads right, and every command reports a failure the same way. */
import { describe, expect, test } from "vitest";
import { VERSION } from "../../src/version.ts";
import { run } from "../support/cli.ts";

const COMMANDS = ["render", "lint", "launcher", "webhook", "certs", "diagnose"];

describe("--help", () => {
  test.each(COMMANDS)("%s --help has no upstream version jargon and no doubled details", async (command) => {
    const { stdout, status } = await run([command, "--help"]);
    expect(status).toBe(0);
    expect(stdout).not.toMatch(/\(HEAD|HEAD\)|v0\.26|v0\.47|HEAD's/);
    expect(stdout).not.toMatch(/repeatable[^\n]*repeatable/);
    expect(stdout).not.toMatch(/\(default[^\n]*\(default/);
  });

  test("a flag with a closed set of values lists them", async () => {
    expect((await run(["render", "--help"])).stdout).toMatch(
      /-o, --output yaml\|json +output format \(default "yaml"\)/,
    );
    expect((await run(["lint", "--help"])).stdout).toMatch(/--format text\|json/);
  });

  test("a key that has a default is not called required", async () => {
    const { stdout } = await run(["render", "--help"]);
    expect(stdout).toMatch(/--namespace string +[^\n]*\(default "default"; \$NAMESPACE\)\n/);
    expect(stdout).toMatch(
      /--image string +agent image, also of checkout, copy-agent and the default command container \(default "ghcr\.io\/buildkite\/agent:[^"]+"; \$IMAGE\)\n/,
    );
    // org is needed by job-source graphql only: its description says so, and it is not called required.
    expect((await run(["launcher", "--help"])).stdout).toMatch(
      /--org string +job-source graphql \(which needs it\)[^\n]*\(\$ORG\)\n/,
    );
  });

  test("render and lint say that other commands' flags are refused", async () => {
    for (const command of ["render", "lint"]) {
      expect((await run([command, "--help"])).stdout).toContain(
        "Flags of the other subcommands are refused; their keys in the --config file are ignored",
      );
    }
  });

  test("version --help is help, not the version", async () => {
    expect(await run(["version", "--help"])).toEqual({
      status: 0,
      stdout: "Usage: agent-stack-k8s version\n\nPrints the version of agent-stack-k8s.\n",
      stderr: "",
    });
    expect((await run(["version"])).stdout).toBe(`${VERSION}\n`);
    expect((await run(["version", "extra"])).status).toBe(2);
  });

  test("the command list has lint and schema", async () => {
    const { stdout } = await run(["--help"]);
    expect(stdout).toMatch(/\n {2}lint +check pipeline files/);
    expect(stdout).toMatch(/\n {2}schema +print a JSON Schema for pipeline files/);
  });
});

describe("one error format: agent-stack-k8s <command>: <message> (<CODE>)", () => {
  test("every problem of a configuration on its own line", async () => {
    const result = await run(["webhook", "--bogus"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      "agent-stack-k8s webhook: unknown flag --bogus (ASK_CLI_USAGE)\n" +
        "agent-stack-k8s webhook: required flag --tls-cert-file is missing (ASK_CLI_USAGE)\n" +
        "agent-stack-k8s webhook: required flag --tls-key-file is missing (ASK_CLI_USAGE)\n",
    );
  });

  test("a usage error names the command once", async () => {
    const result = await run(["render"]);
    expect(result.stderr).toBe(
      "agent-stack-k8s render: give exactly one of --job FILE and --pipeline FILE (see agent-stack-k8s render --help) (ASK_CLI_USAGE)\n",
    );
  });

  test("a configuration value problem", async () => {
    const result = await run(["launcher"], {}, { JOB_SOURCE: "graphql" });
    expect(
      result.stderr
        .split("\n")
        .filter(Boolean)
        .every((line) => /^agent-stack-k8s launcher: .* \(ASK_[A-Z_]+\)$/.test(line)),
    ).toBe(true);
  });
});
