/** Linting text in tests, and problems in a form that is easy to assert on. */
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { type LintContext, lintPipeline } from "../../src/lint/index.ts";
import type { Problem } from "../../src/lint/problem.ts";
import { podTemplatesFrom } from "../../src/render/pod-templates.ts";

export function lint(text: string, options: Partial<LintContext> & { configYaml?: string } = {}) {
  const { configYaml, ...context } = options;
  const config: Config =
    configYaml === undefined
      ? loadConfig({ args: [], env: {} }).config
      : loadConfig({ args: ["--config", "c.yaml"], env: {}, readFile: () => configYaml }).config;
  return lintPipeline("p.yaml", text, {
    config,
    podTemplates: podTemplatesFrom([]),
    interpolate: true,
    ...context,
  });
}

/** `3:7 error ASK_X message`, one string per problem. */
export function lines(problems: readonly Problem[]): string[] {
  return problems.map(
    (problem) => `${problem.line}:${problem.column} ${problem.severity} ${problem.code} ${problem.message}`,
  );
}
