/**
 * The pipeline checked against `src/generated/pipeline-schema.json` (Buildkite's schema with the
 * kubernetes plugin typed; see `scripts/pipeline-schema.ts`). Steps are checked one by one against
 * the definition of their kind, told apart as Buildkite's parser tells them apart: matching a step
 * against the schema's fourteen step forms at once would report a problem for every form it is not.
 */
import { readFileSync } from "node:fs";
import { mappingEntries } from "../buildkite/pipeline-input.ts";
import type { PathSegment } from "../buildkite/pipeline-source.ts";
import { type SchemaNode, type SchemaProblem, validateJson } from "./json-schema.ts";

const SCHEMA_FILE = new URL("../generated/pipeline-schema.json", import.meta.url);

let schemaText: string | undefined;
let schemaDocument: { readonly [keyword: string]: unknown } | undefined;

/** The schema file as generated, for `agent-stack-k8s schema`. */
export function pipelineSchemaText(): string {
  schemaText ??= readFileSync(SCHEMA_FILE, "utf8");
  return schemaText;
}

export function pipelineSchema(): { readonly [keyword: string]: unknown } {
  schemaDocument ??= JSON.parse(pipelineSchemaText()) as { readonly [keyword: string]: unknown };
  return schemaDocument;
}

/** Whether a definition is the plugin's or a Kubernetes type (the rest is Buildkite's). */
export function isPluginDefinition(definition: string | undefined): boolean {
  return (
    definition !== undefined &&
    (definition.startsWith("kubernetes-plugin") ||
      definition.startsWith("io.k8s.") ||
      definition.startsWith("patch.io.k8s."))
  );
}

const STEP_NAMES: Readonly<Record<string, string>> = {
  commandStep: "a command step",
  nestedCommandStep: "a command step",
  groupStep: "a group step",
  waitStep: "a wait step",
  nestedWaitStep: "a wait step",
  blockStep: "a block step",
  nestedBlockStep: "a block step",
  inputStep: "an input step",
  nestedInputStep: "an input step",
  triggerStep: "a trigger step",
  nestedTriggerStep: "a trigger step",
};

const PLUGIN_PART_NAMES: Readonly<Record<string, string>> = {
  "kubernetes-plugin": "the kubernetes plugin",
  "kubernetes-plugin.CheckoutParams": "the kubernetes plugin's checkout",
  "kubernetes-plugin.GitMirrors": "the kubernetes plugin's checkout.gitMirrors",
  "kubernetes-plugin.CommandParams": "the kubernetes plugin's commandParams",
  "kubernetes-plugin.SidecarParams": "the kubernetes plugin's sidecarParams",
  "kubernetes-plugin.Metadata": "the kubernetes plugin's metadata",
};

/** How a definition is named in messages: `a command step`, `Container`, `Container (in podSpecPatch)`. */
export function describeDefinition(definition: string | undefined): string {
  if (definition === undefined) return "the pipeline";
  const named = STEP_NAMES[definition] ?? PLUGIN_PART_NAMES[definition];
  if (named !== undefined) return named;
  if (definition.startsWith("patch.io.k8s.")) return `${kubernetesName(definition)} (in podSpecPatch)`;
  if (definition.startsWith("io.k8s.")) return kubernetesName(definition);
  return definition;
}

/** `patch.io.k8s.api.core.v1.Container.unnamed` → `Container` */
function kubernetesName(definition: string): string {
  return (
    definition
      .replace(/^patch\./, "")
      .replace(/\.unnamed$/, "")
      .split(".")
      .at(-1) ?? definition
  );
}

/** Every problem the schema finds in a parsed pipeline document. */
export function pipelineSchemaProblems(document: unknown): SchemaProblem[] {
  const value = toJson(document);
  const schema = pipelineSchema();
  const options = {
    root: schema,
    caseInsensitive: isPluginDefinition,
    describe: describeDefinition,
  };
  const check = (node: SchemaNode, at: unknown, path: readonly PathSegment[], definition?: string) =>
    validateJson(at, node, path, options, definition);
  if (Array.isArray(value)) return stepsProblems(value, [], false, check);
  const { definitions: _definitions, ...rootSchema } = schema;
  const rootProperties = rootSchema.properties as Record<string, SchemaNode>;
  const problems = check(
    { ...rootSchema, properties: { ...rootProperties, steps: { type: "array" } } },
    value,
    [],
  );
  const steps = isObject(value) ? value.steps : undefined;
  if (Array.isArray(steps)) problems.push(...stepsProblems(steps, ["steps"], false, check));
  return problems;
}

type Check = (
  node: SchemaNode,
  value: unknown,
  path: readonly PathSegment[],
  definition?: string,
) => SchemaProblem[];

function stepsProblems(
  steps: readonly unknown[],
  path: readonly PathSegment[],
  inGroup: boolean,
  check: Check,
): SchemaProblem[] {
  return steps.flatMap((step, index) => {
    const at = [...path, index];
    const kind = stepKind(step);
    if (typeof kind !== "string") return [{ ...kind, path: [...at, ...kind.path] }];
    if (kind !== "groupStep") return check({ $ref: `#/definitions/${kind}` }, step, at);
    if (inGroup) return [stepProblem(at, "a group cannot contain another group (Buildkite refuses it)")];
    const group = definitionNamed("groupStep");
    const properties = group.properties as Record<string, SchemaNode>;
    const problems = check(
      { ...group, properties: { ...properties, steps: { type: "array", minItems: 1 } } },
      step,
      at,
      "groupStep",
    );
    const children = isObject(step) ? step.steps : undefined;
    if (Array.isArray(children)) problems.push(...stepsProblems(children, [...at, "steps"], true, check));
    return problems;
  });
}

function definitionNamed(name: string): { readonly [keyword: string]: unknown } {
  return (pipelineSchema().definitions as Record<string, { readonly [keyword: string]: unknown }>)[name]!;
}

const STRING_STEPS: Readonly<Record<string, string>> = {
  wait: "stringWaitStep",
  waiter: "stringWaitStep",
  block: "stringBlockStep",
  input: "stringInputStep",
};

const STEP_TYPES: Readonly<Record<string, string>> = {
  command: "commandStep",
  commands: "commandStep",
  script: "commandStep",
  wait: "waitStep",
  waiter: "waitStep",
  block: "blockStep",
  manual: "blockStep",
  input: "inputStep",
  trigger: "triggerStep",
  group: "groupStep",
};

/** Keys that tell a step's kind, in the order Buildkite's parser looks for them, with their forms. */
const KIND_KEYS: ReadonlyArray<
  readonly [keys: readonly string[], plain: string, nested: string | undefined]
> = [
  [["command", "commands", "script"], "commandStep", "nestedCommandStep"],
  [["plugins"], "commandStep", undefined],
  [["wait", "waiter"], "waitStep", "nestedWaitStep"],
  [["block", "manual"], "blockStep", "nestedBlockStep"],
  [["input"], "inputStep", "nestedInputStep"],
  [["trigger"], "triggerStep", "nestedTriggerStep"],
  [["group"], "groupStep", undefined],
];

/** The definition a step is checked against, or the problem that it is no step at all. */
function stepKind(step: unknown): string | SchemaProblem {
  if (typeof step === "string") {
    return (
      STRING_STEPS[step] ??
      stepProblem(
        [],
        `expected a step (a mapping, or "wait", "block" or "input"), got the string ${JSON.stringify(step)}`,
      )
    );
  }
  if (!isObject(step)) return stepProblem([], 'expected a step (a mapping, or "wait", "block" or "input")');
  if (Object.hasOwn(step, "type")) {
    const type = step.type;
    if (typeof type === "string" && Object.hasOwn(STEP_TYPES, type)) return STEP_TYPES[type]!;
    return stepProblem(
      ["type"],
      `unknown step type ${JSON.stringify(type)}; expected one of ${Object.keys(STEP_TYPES).join(", ")}`,
    );
  }
  for (const [keys, plain, nested] of KIND_KEYS) {
    const key = keys.find((candidate) => Object.hasOwn(step, candidate));
    if (key === undefined) continue;
    return nested !== undefined && isObject(step[key]) && Object.keys(step).length === 1 ? nested : plain;
  }
  if (Object.hasOwn(step, "steps")) return "groupStep";
  return stepProblem(
    [],
    "cannot tell what kind of step this is: expected a `command`, `commands`, `plugins`, `wait`, `block`, `input`, `trigger` or `group` key, or a `type`",
  );
}

function stepProblem(path: readonly PathSegment[], message: string): SchemaProblem {
  return { kind: "constraint", path, at: "value", message, definition: undefined };
}

/** The parsed document (mappings as `Map`s) as plain JSON values. */
export function toJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJson);
  const entries = value instanceof Map ? mappingEntries(value, "") : undefined;
  if (entries !== undefined) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      Object.defineProperty(result, key, {
        value: toJson(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
