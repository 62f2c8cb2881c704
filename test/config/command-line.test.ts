import { describe, expect, test } from "vitest";
import type { CommandFlag } from "../../src/config/args.ts";
import { loadConfig } from "../../src/config/load.ts";
import { load, loadError, problemOf } from "./helpers.ts";

const RENDER_FLAGS = [
  { name: "job", type: "string", valueName: "FILE", description: "Buildkite job JSON" },
  { name: "pipeline", type: "string", valueName: "FILE", description: "pipeline YAML" },
  { name: "pod-template", type: "stringList", valueName: "FILE", description: "PodTemplate YAML" },
  {
    name: "output",
    short: "o",
    type: "string",
    values: ["json", "yaml"],
    default: "yaml",
    description: "format",
  },
  { name: "quiet", short: "q", type: "bool", description: "no warnings" },
] as const satisfies readonly CommandFlag[];

describe("flag syntax", () => {
  test("--key value and --key=value", () => {
    const { config } = load({ args: ["--org", "acme", "--namespace=ci"] });
    expect([config.org, config.namespace]).toEqual(["acme", "ci"]);
  });

  test("a value flag takes the next argument whatever it looks like, as pflag does", () => {
    expect(load({ args: ["--job-creation-concurrency", "-3"] }).config.jobCreationConcurrency).toBe(5);
    expect(load({ args: ["--org", "--acme"] }).config.org).toBe("--acme");
  });

  test("a value with '=' in it survives --key=value", () => {
    expect(load({ args: ["--workspace-mount-sub-path-expr=$(A)=b"] }).config.workspaceMountSubPathExpr).toBe(
      "$(A)=b",
    );
  });

  test("a scalar flag given twice keeps the last value", () => {
    expect(load({ args: ["--org=a", "--org=b"] }).config.org).toBe("b");
  });

  test("positionals are kept in order, interleaved with flags and after --", () => {
    const { positionals, config } = load({ args: ["one", "--org", "acme", "two", "--", "--debug", "-f"] });
    expect(positionals).toEqual(["one", "two", "--debug", "-f"]);
    expect(config.debug).toBe(false);
  });

  test("a lone - is a positional (stdin)", () => {
    expect(load({ args: ["-"] }).positionals).toEqual(["-"]);
  });
});

describe("command-line mistakes are usage errors (exit 2)", () => {
  test("an unknown flag is named, with the closest known flag", () => {
    const problem = problemOf({ args: ["--max-inflight", "3"] });
    expect(problem.code).toBe("ASK_CLI_USAGE");
    expect(problem.message).toBe("unknown flag --max-inflight; did you mean --max-in-flight?");
  });

  test("an unknown flag far from every known one gets no suggestion", () => {
    expect(problemOf({ args: ["--zzzzzzzz"] }).message).toBe("unknown flag --zzzzzzzz");
  });

  test("an unknown short flag", () => {
    expect(problemOf({ args: ["-x"] }).message).toBe("unknown flag -x");
  });

  test("a structured key is not a flag, and the message says where it goes", () => {
    expect(problemOf({ args: ["--pod-spec-patch={}"] }).message).toBe(
      "unknown flag --pod-spec-patch: pod-spec-patch can only be set in the --config file",
    );
  });

  test("a flag without its value", () => {
    expect(problemOf({ args: ["--org"] }).message).toBe("flag needs an argument: --org");
    expect(problemOf({ args: ["-f"] }).message).toBe("flag needs an argument: -f");
  });

  test("usage errors win the error code over value errors, and stop before the file is read", () => {
    const error = loadError({ args: ["--nope"], env: { MAX_IN_FLIGHT: "x" }, file: "bad: [" });
    expect(error.code).toBe("ASK_CLI_USAGE");
    expect(error.problems).toHaveLength(1);
  });
});

describe("--help", () => {
  test("-h and --help ask for help; nothing is read or checked", () => {
    for (const flag of ["-h", "--help"]) {
      const loaded = loadConfig({
        args: [flag, "--max-in-flight", "nonsense"],
        env: { CONFIG: "/missing.yaml", ORG: "" },
        subcommand: "launcher",
        readFile: () => {
          throw new Error("must not be read");
        },
      });
      expect(loaded.help).toBe(true);
      expect(loaded.config.maxInFlight).toBe(25);
    }
  });

  test("an unknown flag is still a usage error with --help", () => {
    expect(problemOf({ args: ["--help", "--nope"] }).code).toBe("ASK_CLI_USAGE");
  });
});

describe("subcommand flags", () => {
  test("are parsed in the same pass and returned typed, with their defaults", () => {
    const loaded = loadConfig({
      args: [
        "--job",
        "job.json",
        "--max-in-flight",
        "3",
        "-o",
        "json",
        "--pod-template",
        "a.yaml",
        "--pod-template=b.yaml",
      ],
      env: {},
      commandFlags: RENDER_FLAGS,
    });
    const job: string | undefined = loaded.flags.job;
    const output: string = loaded.flags.output;
    const templates: readonly string[] = loaded.flags["pod-template"];
    const quiet: boolean = loaded.flags.quiet;
    expect({ job, output, templates, quiet, pipeline: loaded.flags.pipeline }).toEqual({
      job: "job.json",
      output: "json",
      templates: ["a.yaml", "b.yaml"],
      quiet: false,
      pipeline: undefined,
    });
    expect(loaded.config.maxInFlight).toBe(3);
  });

  test("repeatable subcommand values are not split on commas (file names may contain them)", () => {
    const loaded = loadConfig({ args: ["--pod-template", "a,b.yaml"], env: {}, commandFlags: RENDER_FLAGS });
    expect(loaded.flags["pod-template"]).toEqual(["a,b.yaml"]);
  });

  test("a bool subcommand flag stands alone or takes =value", () => {
    expect(loadConfig({ args: ["-q"], env: {}, commandFlags: RENDER_FLAGS }).flags.quiet).toBe(true);
    expect(loadConfig({ args: ["--quiet=false"], env: {}, commandFlags: RENDER_FLAGS }).flags.quiet).toBe(
      false,
    );
  });

  test("a value outside the allowed set is a usage error naming them", () => {
    const problem = problemOf({ args: ["--output", "xml"], commandFlags: RENDER_FLAGS });
    expect(problem.code).toBe("ASK_CLI_USAGE");
    expect(problem.message).toBe('invalid value "xml" for --output: expected one of json, yaml');
  });

  test("a required subcommand flag that is missing is a usage error", () => {
    const flags = [{ name: "file", type: "string", description: "pipeline", required: true }] as const;
    expect(problemOf({ args: [], commandFlags: flags }).message).toBe("required flag --file is missing");
  });

  test("another subcommand's flag is unknown", () => {
    expect(problemOf({ args: ["--job", "x.json"] }).message).toBe("unknown flag --job");
  });

  test("a subcommand flag that clashes with a configuration flag is a programming error", () => {
    expect(() =>
      loadConfig({ args: [], env: {}, commandFlags: [{ name: "org", type: "string", description: "" }] }),
    ).toThrow("command flag --org clashes with a configuration flag");
    expect(() =>
      loadConfig({
        args: [],
        env: {},
        commandFlags: [{ name: "file", short: "f", type: "string", description: "" }],
      }),
    ).toThrow("command flag -f clashes with another flag");
  });
});
