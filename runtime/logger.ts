/**
 * The process logger of the long-running commands (webhook, certs, launcher): pino, writing one line
 * per event to stdout, as JSON (`log-format: json`) or logfmt (`log-format: logfmt`, HEAD's default).
 * Nothing secret is ever passed to it; redacting the fields that could carry a token or key by mistake
 * is a second line of defence. Every message and field goes through `log-values.ts` (bounded, escaped).
 *
 * The webhook writes a line per admission, so a line's cost counts: redaction is one pass over the
 * keys (pino's path-based `redact` cost twice the rest of a line), logfmt is built in one pass, and
 * lines go to plain `write` functions, not through stream machinery.
 */
import pino, { type Logger } from "pino";
import type { Config } from "../src/config/types.ts";
import { loggableFields, loggableText } from "./log-values.ts";

export type { Logger } from "pino";

/** Field names whose values never reach a log line, at the top level or one level down. */
const REDACTED_KEYS = new Set(["token", "buildkiteToken", "authorization", "key", "privateKey"]);
const CENSOR = "[redacted]";

/** Where lines go: anything with `write(line)` (stdout, a stream, a command's output). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  readonly name: string;
  readonly config: Pick<Config, "logLevel" | "logFormat">;
  /** Where lines go; stdout by default. Tests pass their own. */
  readonly destination?: LogDestination;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  const stream = options.config.logFormat === "json" ? destination : logfmtStream(destination);
  return pino(
    {
      name: options.name,
      level: options.config.logLevel,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => loggableFields(redacted(object)),
        bindings: (bindings) => loggableFields(redacted(bindings)),
      },
      hooks: {
        logMethod(args, method) {
          const bounded = args.map((arg) => (typeof arg === "string" ? loggableText(arg) : arg));
          method.apply(this, bounded as Parameters<typeof method>);
        },
      },
    },
    stream,
  );
}

/** `object` with the values of `REDACTED_KEYS` replaced, at the top level and one level down. */
export function redacted<T extends Record<string, unknown>>(object: T): T {
  let copy: Record<string, unknown> | undefined;
  for (const key in object) {
    const value: unknown = object[key];
    if (REDACTED_KEYS.has(key)) {
      copy ??= { ...object };
      copy[key] = CENSOR;
    } else if (
      typeof value === "object" &&
      value !== null &&
      !Array.isArray(value) &&
      !(value instanceof Error)
    ) {
      let inner: Record<string, unknown> | undefined;
      for (const innerKey in value) {
        if (!REDACTED_KEYS.has(innerKey)) continue;
        inner ??= { ...(value as Record<string, unknown>) };
        inner[innerKey] = CENSOR;
      }
      if (inner !== undefined) {
        copy ??= { ...object };
        copy[key] = inner;
      }
    }
  }
  return (copy ?? object) as T;
}

/** Turns pino's JSON lines into logfmt: `time=… level=info name=webhook msg="…" key=value`. */
export function logfmtStream(destination: LogDestination): LogDestination {
  return {
    write(chunk: string) {
      // pino writes one line at a time, newline included.
      for (const line of chunk.split("\n")) {
        if (line !== "") destination.write(`${toLogfmt(line)}\n`);
      }
      return true;
    },
  };
}

const LEADING_KEYS = ["time", "level", "name", "msg"];
const SKIPPED_KEYS = new Set([...LEADING_KEYS, "pid", "hostname"]);

export function toLogfmt(jsonLine: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  let line = "";
  const add = (key: string, value: unknown) => {
    if (value === undefined) return;
    line += `${line === "" ? "" : " "}${key}=${logfmtValue(value)}`;
  };
  for (const key of LEADING_KEYS) add(key, record[key]);
  for (const key in record) if (!SKIPPED_KEYS.has(key)) add(key, record[key]);
  return line;
}

/** Bare when it is one plain word; quoted, with control characters escaped, otherwise. */
function logfmtValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a control character must never be written raw.
  return /^[^\s"=\\\u0000-\u001f]+$/.test(text) ? text : JSON.stringify(text);
}
