/**
 * The process logger of the long-running commands (webhook, certs, launcher): pino, writing one line
 * per event to stdout, as JSON (`log-format: json`) or logfmt (`log-format: logfmt`, HEAD's default).
 * Nothing secret is ever passed to it; `redact` is a second line of defence for fields that could carry
 * a token or key by mistake. Every message and field goes through `log-values.ts` (bounded, escaped).
 */
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import type { Config } from "../src/config/types.ts";
import { loggableFields, loggableText } from "./log-values.ts";

export type { Logger } from "pino";

const REDACT = [
  "token",
  "*.token",
  "buildkiteToken",
  "*.buildkiteToken",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "key",
  "*.key",
  "privateKey",
  "*.privateKey",
];

export interface LoggerOptions {
  readonly name: string;
  readonly config: Pick<Config, "logLevel" | "logFormat">;
  /** Where lines go; stdout by default. Tests pass their own. */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  const stream = options.config.logFormat === "json" ? destination : logfmtStream(destination);
  return pino(
    {
      name: options.name,
      level: options.config.logLevel,
      redact: { paths: REDACT, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: loggableFields, bindings: loggableFields },
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

/** Log lines written through a command's own output (its stdout), so an in-process run captures them. */
export function lineStream(write: (text: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      write(chunk.toString("utf8"));
      callback();
    },
  });
}

/** Turns pino's JSON lines into logfmt: `time=… level=info name=webhook msg="…" key=value`. */
export function logfmtStream(destination: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() !== "") destination.write(`${toLogfmt(line)}\n`);
      }
      callback();
    },
  });
}

export function toLogfmt(jsonLine: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const { time, level, name, msg, ...rest } = record;
  const fields: Array<[string, unknown]> = [
    ["time", time],
    ["level", level],
    ["name", name],
    ["msg", msg],
    ...Object.entries(rest).filter(([key]) => key !== "pid" && key !== "hostname"),
  ];
  return fields
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${logfmtValue(value)}`)
    .join(" ");
}

/** Bare when it is one plain word; quoted, with control characters escaped, otherwise. */
function logfmtValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a control character must never be written raw.
  return /^[^\s"=\\\u0000-\u001f]+$/.test(text) ? text : JSON.stringify(text);
}
