import { describe, expect, test } from "vitest";
import type { CommandFlag } from "../../src/config/args.ts";
import {
  CONFIG_TABLE_END,
  CONFIG_TABLE_START,
  configurationTableMarkdown,
  formatHelp,
  withConfigurationTable,
} from "../../src/config/help.ts";
import { CONFIG_KEYS, CONFIG_SUBCOMMANDS, envVarOf, flagOf, type KeySpec } from "../../src/config/schema.ts";

const KEYS = CONFIG_KEYS as readonly KeySpec[];

describe("--help", () => {
  test.each(CONFIG_SUBCOMMANDS)("%s --help lists every flag it uses, with its env var", (subcommand) => {
    const help = formatHelp(subcommand);
    for (const spec of KEYS.filter((key) => key.usedBy.includes(subcommand))) {
      const flag = flagOf(spec);
      if (flag === undefined) {
        expect(help).toContain(`${spec.key}: `);
        continue;
      }
      expect(help).toMatch(new RegExp(`--${flag}\\b`));
      const env = envVarOf(spec);
      if (env !== undefined) expect(help).toContain(`$${env}`);
    }
  });

  test("between them, the subcommands' help pages show every flag", () => {
    const pages = CONFIG_SUBCOMMANDS.map((subcommand) => formatHelp(subcommand)).join("\n");
    for (const spec of KEYS) {
      const flag = flagOf(spec);
      expect(pages).toContain(flag === undefined ? `${spec.key}: ` : `--${flag}`);
    }
  });

  test("shows defaults as Go prints them, -f for --config, and which job source needs a key", () => {
    const help = formatHelp("launcher");
    expect(help).toMatch(/-f, --config string +path of the YAML/);
    expect(help).toMatch(
      /--max-in-flight int +most unfinished Jobs at once; 0 means no limit \(default 25; \$MAX_IN_FLIGHT\)/,
    );
    expect(help).toContain("(default 1m0s; $HTTP_TIMEOUT)");
    expect(help).toContain("(default [queue=kubernetes]; $TAGS)");
    expect(help).toMatch(/--org string +job-source graphql \(which needs it\): Buildkite organization slug/);
    expect(help).toContain("($ORG)");
    expect(help).toContain("--log-level debug|info|warn|error");
  });

  test("keys of other subcommands are left out", () => {
    expect(formatHelp("render")).not.toContain("--org");
    expect(formatHelp("launcher")).not.toContain("--image ");
  });

  test("a token's default is never printed", () => {
    expect(formatHelp("launcher")).toMatch(
      /--buildkite-token string +[^\n]*\(never logged\) \(\$BUILDKITE_TOKEN\)/,
    );
  });

  test("lists the subcommand's own flags first, aligned, with -h", () => {
    const flags: readonly CommandFlag[] = [
      { name: "job", type: "string", valueName: "FILE", description: "the Buildkite job (JSON)" },
      { name: "pod-template", type: "stringList", valueName: "FILE", description: "a PodTemplate" },
      {
        name: "output",
        short: "o",
        type: "string",
        values: ["json", "yaml"],
        default: "yaml",
        description: "format",
      },
    ];
    const help = formatHelp("render", flags);
    expect(help.split("\n").slice(0, 7)).toEqual([
      "Usage: agent-stack-k8s render [flags]",
      "",
      "Flags:",
      "      --job FILE           the Buildkite job (JSON)",
      "      --pod-template FILE  a PodTemplate (repeatable)",
      '  -o, --output json|yaml   format (default "yaml")',
      "  -h, --help               show this help",
    ]);
  });

  test("lint shows render's keys; a subcommand without configuration shows --config only", () => {
    expect(formatHelp("lint")).toContain("--image string");
    const version = formatHelp("version");
    expect(version).toContain("--config");
    expect(version).not.toContain("--namespace");
  });
});

describe("the configuration table (docs/configuration.md)", () => {
  test("has one row per key, with flag, env, type, default and users", () => {
    const table = configurationTableMarkdown();
    for (const spec of KEYS) expect(table).toContain(`| \`${spec.key}\` |`);
    expect(table).toContain(
      "| `max-in-flight` | `--max-in-flight` / `MAX_IN_FLIGHT` | int ≥ 0 | `25` | launcher | most unfinished Jobs at once; 0 means no limit |",
    );
    expect(table).toContain(
      "| `pod-spec-patch` | file only | PodSpec strategic merge patch | none | webhook, render |",
    );
    expect(table).toContain("| `id` | `--id` / `BUILDKITE_K8S_STACK_CONTROLLER_ID` |");
    expect(table).toContain("empty \\| `Always` \\| `IfNotPresent` \\| `Never`");
  });

  test("updating touches only the text between the markers", () => {
    const readme = `# Title\n\nintro\n\n${CONFIG_TABLE_START}\nold table\n${CONFIG_TABLE_END}\n\n## After\n`;
    const updated = withConfigurationTable(readme);
    expect(updated.startsWith(`# Title\n\nintro\n\n${CONFIG_TABLE_START}\n`)).toBe(true);
    expect(updated.endsWith(`${CONFIG_TABLE_END}\n\n## After\n`)).toBe(true);
    expect(updated).not.toContain("old table");
    expect(withConfigurationTable(updated)).toBe(updated);
  });

  test("a document without markers gets a Configuration section", () => {
    expect(withConfigurationTable("")).toBe(
      `## Configuration\n\n${CONFIG_TABLE_START}\n${configurationTableMarkdown()}\n${CONFIG_TABLE_END}\n`,
    );
    expect(withConfigurationTable("# Title\n").startsWith("# Title\n\n## Configuration\n")).toBe(true);
  });
});
