/**
 * What keeps secret values out of the archive, in two layers.
 *
 * Objects: an environment variable whose name matches the agent's redaction patterns (its
 * BUILDKITE_REDACTED_VARS default, `*_TOKEN`, `*_SECRET`…, plus the configuration's
 * `additional-redacted-vars`) has its value replaced, in every `env` list of every object (pods, Jobs,
 * Deployments, the configuration's pod-spec-patch and params), inside env values that are JSON
 * (BUILDKITE_PLUGINS) and in the `buildkite.com/job` annotation's `K=V` list. `managedFields` and
 * kubectl's `last-applied-configuration` (a second, unredacted copy of an object) are left out.
 *
 * Text: every secret value met on the way (those env values, the configuration's secret keys, the data
 * of the Secret read for the serving certificate) is replaced wherever it appears, logs included,
 * before any file is written. Diagnose never reads the token Secrets themselves.
 */
import { ANNOTATION_JOB } from "../src/admission/contract.ts";
import { REDACTED } from "../src/config/loggable.ts";
import { DEFAULT_REDACTED_VARS } from "../src/expand/agent-container.ts";

export { REDACTED };

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
/** Shorter values are left to the object layer: replacing `true` or `1` everywhere would ruin the text. */
const SHORTEST_SCRUBBED = 6;

export class Redactor {
  readonly #patterns: RegExp[] = [];
  readonly #secrets = new Set<string>();
  #count = 0;

  constructor(patterns: readonly string[] = DEFAULT_REDACTED_VARS) {
    this.addPatterns(patterns);
  }

  /** How many values were replaced so far. */
  get count(): number {
    return this.#count;
  }

  /** More name patterns (`*_PASSPHRASE`, `MY_VAR`); `*` matches any run of characters. */
  addPatterns(patterns: readonly string[]): void {
    for (const pattern of patterns) {
      const source = pattern
        .split("*")
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*");
      // Case does not matter here: redacting `deploy_token` too costs nothing.
      this.#patterns.push(new RegExp(`^${source}$`, "i"));
    }
  }

  isSecretName(name: string): boolean {
    return this.#patterns.some((pattern) => pattern.test(name));
  }

  /** A secret value to take out of every file written from now on. */
  remember(value: string): void {
    if (value.length >= SHORTEST_SCRUBBED) this.#secrets.add(value);
  }

  /** A copy of `value` with secret env values replaced and the unredacted copies dropped. */
  object<T>(value: T): T {
    return this.#walk(value, undefined) as T;
  }

  /** `text` with every remembered secret value replaced. */
  text(text: string): string {
    let result = text;
    for (const secret of this.#secrets) {
      if (!result.includes(secret)) continue;
      const parts = result.split(secret);
      this.#count += parts.length - 1;
      result = parts.join(REDACTED);
    }
    return result;
  }

  #walk(value: unknown, key: string | undefined): unknown {
    if (Array.isArray(value)) {
      return key === "env"
        ? value.map((entry) => this.#envEntry(entry))
        : value.map((item) => this.#walk(item, undefined));
    }
    if (typeof value !== "object" || value === null || value instanceof Date) return value;
    const result: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) {
      if (name === "managedFields") continue;
      result[name] = name === "annotations" ? this.#annotations(item) : this.#walk(item, name);
    }
    return result;
  }

  #envEntry(entry: unknown): unknown {
    if (typeof entry !== "object" || entry === null) return entry;
    const { name, value } = entry as { name?: unknown; value?: unknown };
    if (typeof name !== "string" || typeof value !== "string") return this.#walk(entry, undefined);
    return { ...entry, value: this.#envValue(name, value) };
  }

  #envValue(name: string, value: string): string {
    if (value !== "" && this.isSecretName(name)) {
      this.remember(value);
      this.#count += 1;
      return REDACTED;
    }
    if (!/^\s*[[{]/.test(value)) return value;
    try {
      const parsed: unknown = JSON.parse(value);
      const before = this.#count;
      const walked = this.#walk(parsed, undefined);
      return this.#count === before ? value : JSON.stringify(walked);
    } catch {
      return value;
    }
  }

  #annotations(annotations: unknown): unknown {
    if (typeof annotations !== "object" || annotations === null) return annotations;
    const result: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(annotations)) {
      if (name === LAST_APPLIED) {
        result[name] = `${REDACTED} (a copy of the object as last applied; left out)`;
        this.#count += 1;
      } else if (name === ANNOTATION_JOB && typeof value === "string") {
        result[name] = this.#jobAnnotation(value);
      } else {
        result[name] = value;
      }
    }
    return result;
  }

  /** The Buildkite job of a skeleton: its `env` is a list of `K=V`. */
  #jobAnnotation(text: string): string {
    let job: unknown;
    try {
      job = JSON.parse(text);
    } catch {
      this.#count += 1;
      return `${REDACTED} (not JSON)`;
    }
    if (typeof job !== "object" || job === null) return text;
    const env = (job as { env?: unknown }).env;
    if (!Array.isArray(env)) return JSON.stringify(this.#walk(job, undefined));
    const redacted = env.map((entry) => {
      if (typeof entry !== "string" || !entry.includes("=")) return entry;
      const equals = entry.indexOf("=");
      return `${entry.slice(0, equals)}=${this.#envValue(entry.slice(0, equals), entry.slice(equals + 1))}`;
    });
    return JSON.stringify({ ...(this.#walk(job, undefined) as object), env: redacted });
  }
}
