/**
 * The Buildkite job as the stack carries it: the fields of Buildkite's GraphQL `JobTypeCommand` that the
 * expansion reads, in the shape the API returns them. It travels as JSON in the skeleton Job's
 * `buildkite.com/job` annotation, so the launcher, the webhook and `render` all read it with
 * `parseBuildkiteJob`.
 */
import { AgentStackError } from "../errors.ts";
import { childPath, isPlainObject } from "../k8s/decode.ts";

export interface BuildkiteJob {
  /** `JobTypeCommand.uuid`; the Kubernetes Job's name and `buildkite.com/job-uuid` label derive from it. */
  uuid: string;
  /** `JobTypeCommand.command`: a step's commands joined with newlines; empty for a plugins-only step. */
  command: string;
  /** `JobTypeCommand.env`: `"K=V"` entries. A name may repeat; the last entry wins (see `jobEnv`). */
  env: string[];
  /** `JobTypeCommand.agentQueryRules`: `"k=v"` entries such as `queue=kubernetes`. */
  agentQueryRules: string[];
  /** `JobTypeCommand.priority` (type `JobPriority`). */
  priority: { number: number };
}

/**
 * Lowercase hex digits and dashes, starting and ending with a hex digit, at most 63 characters: the
 * uuid becomes a label value and part of the Job's name, and both must be DNS-label-like. Buildkite's
 * uuids (`01938a6e-5c1f-4c3b-9d7e-2f4a8b6c0d1e`) always fit.
 */
const JOB_UUID = /^[0-9a-f](?:[0-9a-f-]{0,61}[0-9a-f])?$/;

export function isJobUuid(value: string): boolean {
  return JOB_UUID.test(value);
}

// GraphQL's Int is a signed 32-bit integer.
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Validates a `JobTypeCommand` as JSON-decoded from the API or the annotation. Fields the stack does not
 * read (`id`, `label`, `state`…) are ignored, so a query may select more. `command`, `env` and
 * `agentQueryRules` are nullable in the GraphQL schema: `null` or absent means empty. An env entry
 * without `=` is refused here rather than crashing later, as it does upstream.
 */
export function parseBuildkiteJob(value: unknown, source: string): BuildkiteJob {
  const fail = (path: string, message: string): never => {
    throw new AgentStackError("ASK_JOB_INVALID", `${source}: ${path}: ${message}`, { path });
  };
  if (!isPlainObject(value)) return fail("$", `expected a JobTypeCommand object, got ${describeType(value)}`);
  return {
    uuid: parseUuid(value.uuid, fail),
    command: parseCommand(value.command, fail),
    env: parseStringList(
      value.env,
      { path: "$.env", expected: 'a "K=V" string', problem: envEntryProblem, describe: describeType },
      fail,
    ),
    agentQueryRules: parseStringList(
      value.agentQueryRules,
      { path: "$.agentQueryRules", expected: "a string", problem: () => undefined, describe },
      fail,
    ),
    priority: { number: parsePriority(value.priority, fail) },
  };
}

type Fail = (path: string, message: string) => never;

function parseUuid(value: unknown, fail: Fail): string {
  if (typeof value !== "string" || !isJobUuid(value)) {
    return fail(
      "$.uuid",
      `expected a job UUID (lowercase hex digits and dashes, at most 63 characters, usable in a Kubernetes name), got ${describe(value)}`,
    );
  }
  return value;
}

function parseCommand(value: unknown, fail: Fail): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") return fail("$.command", `expected a string, got ${describe(value)}`);
  return value;
}

interface StringListRule {
  readonly path: string;
  /** What one entry must be, for messages: `a "K=V" string`. */
  readonly expected: string;
  /** Why a string entry is still wrong, or undefined when it is fine. */
  readonly problem: (entry: string) => string | undefined;
  /** How a wrong value is named in the message: the env's values are secrets, so only their type. */
  readonly describe: (value: unknown) => string;
}

function parseStringList(value: unknown, rule: StringListRule, fail: Fail): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    return fail(rule.path, `expected a list of strings, got ${rule.describe(value)}`);
  return value.map((entry: unknown, index) => {
    const entryPath = `${rule.path}[${index}]`;
    if (typeof entry !== "string")
      return fail(entryPath, `expected ${rule.expected}, got ${rule.describe(entry)}`);
    const problem = rule.problem(entry);
    if (problem !== undefined) {
      return fail(entryPath, `expected ${rule.expected}, got ${rule.describe(entry)} (${problem})`);
    }
    return entry;
  });
}

function envEntryProblem(entry: string): string | undefined {
  const equals = entry.indexOf("=");
  if (equals < 0) return 'no "="';
  if (equals === 0) return "empty name";
  return undefined;
}

function parsePriority(value: unknown, fail: Fail): number {
  if (value === undefined || value === null) return 0;
  if (!isPlainObject(value)) {
    return fail("$.priority", `expected a JobPriority object {"number": N}, got ${describe(value)}`);
  }
  const number = value.number;
  if (number === undefined || number === null) return 0;
  if (typeof number !== "number" || !Number.isInteger(number) || number < INT32_MIN || number > INT32_MAX) {
    const got = typeof number === "number" ? `number ${number}` : describe(number);
    return fail(childPath("$.priority", "number"), `expected a 32-bit integer, got ${got}`);
  }
  return number;
}

/**
 * The job's env as a map, each entry split at its first `=`. A later entry for the same name wins, as
 * when upstream fills a Go map from the list.
 */
export function jobEnv(job: BuildkiteJob): Map<string, string> {
  const env = new Map<string, string>();
  job.env.forEach((entry, index) => {
    const equals = entry.indexOf("=");
    if (equals <= 0) {
      const path = `$.env[${index}]`;
      throw new AgentStackError(
        "ASK_JOB_INVALID",
        `${path}: expected a "K=V" string, got ${describeType(entry)} (${envEntryProblem(entry)})`,
        { path },
      );
    }
    env.set(entry.slice(0, equals), entry.slice(equals + 1));
  });
  return env;
}

/** How a JSON value is named in messages: its kind, and a string's (shortened) text. */
function describe(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return describeType(value);
}

/** A JSON value named by its kind alone, never its text: for the job's env, whose values are secrets. */
function describeType(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "string") return `a string of ${value.length} characters`;
  return typeof value;
}
