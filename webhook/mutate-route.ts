/**
 * `POST /mutate`: an AdmissionReview in, the answer of the pure admission function (`src/admission`)
 * out, in the API version asked. Around it, the guarantees of a webhook on the path of every Job create:
 *
 * - a body that is not an AdmissionReview (not JSON, not UTF-8, too large, wrong content type, wrong kind,
 *   no `request`) gets a 400-class answer whose message says what is wrong and where;
 * - an exception inside the expansion gets a 500 that names the request uid and is logged with its stack;
 *   the server carries on;
 * - every request is counted, timed and logged once, when its answer has gone (or its client has gone).
 *
 * The body is never logged: the Buildkite job in it carries the job's environment. Nor is a denial's
 * message, which quotes the plugin's configuration: its line has the error code and where the problem
 * is; the message itself goes back to the API server, and from there to the Buildkite job's log.
 */

import type { Server as HttpsServer } from "node:https";
import { performance } from "node:perf_hooks";
import type { FastifyError, FastifyInstance } from "fastify";
import type { Logger } from "../runtime/logger.ts";
import { type AdmissionContext, type AdmissionResult, admit } from "../src/admission/admit.ts";
import { LABEL_JOB_UUID } from "../src/admission/contract.ts";
import { isAgentStackError } from "../src/errors.ts";
import { parseJsonText } from "../src/json-text.ts";
import { decodeDefinition, isPlainObject } from "../src/k8s/decode.ts";
import { drainUnreadBody } from "./graceful-close.ts";
import type { RequestResult, WebhookMetrics } from "./metrics.ts";

export const MUTATE_PATH = "/mutate";

/** controller-runtime's limit: kube-apiserver itself refuses objects over about 3 MiB. */
export const DEFAULT_BODY_LIMIT = 7 * 1024 * 1024;
/** A body refused unread is dropped up to this many times the limit, then the connection is cut. */
const DRAIN_LIMIT_FACTOR = 4;

export type AdmitFunction = (review: unknown, context: AdmissionContext) => AdmissionResult;

export interface MutateRouteOptions {
  /** The configuration and PodTemplates in service now: a reload changes what the next call returns. */
  readonly context: () => AdmissionContext;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  readonly bodyLimit: number;
  /** Budget of one request, body upload included: past it Node answers 408 (see `server.ts`). */
  readonly requestTimeoutMs: number;
  /** The admission function; tests replace it to make it throw. */
  readonly admit?: AdmitFunction;
  /** True once the server shuts down: answers then close their connection, so it can end. */
  readonly closing?: () => boolean;
}

/** A request between its arrival and its log line. */
interface Admission {
  readonly startedAt: number;
  recorded: boolean;
  request?: RequestSummary;
}

/** How a request ended, for its metrics and log line. */
interface Outcome {
  readonly result: RequestResult;
  readonly status?: number;
  readonly reason?: string;
  readonly message?: string;
  /** Where a denial's problem is, in place of its message. */
  readonly path?: string;
  readonly error?: unknown;
  /** The client closed the connection before the answer. */
  readonly abandoned?: boolean;
}

interface RequestSummary {
  readonly uid?: string;
  readonly job?: string;
  readonly jobUuid?: string;
  readonly operation?: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function registerMutateRoute(server: FastifyInstance<HttpsServer>, options: MutateRouteOptions): void {
  const { metrics, logger } = options;
  const admitReview = options.admit ?? admit;
  const admissions = new WeakMap<object, Admission>();

  // Only JSON is accepted; fastify answers 415 for any other content type.
  server.removeAllContentTypeParsers();
  server.addContentTypeParser(
    "application/json",
    { parseAs: "buffer", bodyLimit: options.bodyLimit },
    (_request, body: Buffer, done) => {
      let text: string;
      try {
        text = utf8.decode(body);
      } catch {
        done(badRequest("the body is not valid UTF-8"));
        return;
      }
      if (text.trim() === "") {
        done(badRequest("the body is empty: expected an AdmissionReview as JSON"));
        return;
      }
      const parsed = parseJsonText(text);
      if (parsed.ok) done(null, parsed.value);
      else done(badRequest(`the body is not valid JSON: ${parsed.problem}`));
    },
  );

  /** Counts, times and logs a request once, as its answer is sent (or its client leaves). */
  const record = (request: object, outcome: Outcome) => {
    const admission = admissions.get(request);
    if (!admission || admission.recorded) return;
    admission.recorded = true;
    const { result } = outcome;
    const seconds = (performance.now() - admission.startedAt) / 1000;
    metrics.requests.inc({ result });
    metrics.requestDuration.observe({ result }, seconds);
    if (result === "denied" && outcome.reason) metrics.denials.inc({ code: outcome.reason });
    const fields = {
      ...admission.request,
      outcome: result,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      ...(outcome.message ? { message: outcome.message } : {}),
      ...(outcome.path ? { path: outcome.path } : {}),
      ...(outcome.status ? { status: outcome.status } : {}),
      durationMs: Math.round(seconds * 1e6) / 1000,
    };
    if (outcome.abandoned) logger.warn(fields, "admission abandoned: the client closed the connection first");
    else if (result === "error")
      logger.error({ ...fields, err: outcome.error }, "admission failed with an unexpected error");
    else if (result === "bad_request")
      logger.warn(fields, "admission request refused: not an AdmissionReview");
    else if (result === "unchanged") logger.debug(fields, "admission: nothing to do");
    else logger.info(fields, `admission: ${result}`);
  };

  server.route({
    method: "POST",
    url: MUTATE_PATH,
    onRequest: (request, reply, done) => {
      admissions.set(request, { startedAt: performance.now(), recorded: false });
      metrics.requestsInFlight.inc();
      // "close" comes once per response, whether it was sent in full or its client went away.
      reply.raw.once("close", () => {
        metrics.requestsInFlight.dec();
        const admission = admissions.get(request);
        if (admission && !admission.recorded)
          record(request, unanswered(admission, options.requestTimeoutMs));
        admissions.delete(request);
      });
      done();
    },
    errorHandler: (error: FastifyError, request, reply) => {
      const status = error.statusCode ?? 500;
      if (status < 500) {
        const code = errorCode(error);
        const message = clientErrorMessage(error, options.bodyLimit, request.headers["content-type"]);
        record(request, { result: "bad_request", status, reason: code, message });
        // Refused before its body was read: the rest of it is dropped, so the client reads this answer.
        const startedAt = admissions.get(request)?.startedAt ?? performance.now();
        const timeoutMs = options.requestTimeoutMs - (performance.now() - startedAt);
        const bounds = { maxBytes: DRAIN_LIMIT_FACTOR * options.bodyLimit, timeoutMs };
        if (drainUnreadBody(request.raw, bounds) && !options.closing?.()) {
          reply.removeHeader("connection");
        }
        reply.code(status).send({ code, message });
        return;
      }
      record(request, { result: "error", status, error });
      reply.code(status).send({ code: error.code ?? "INTERNAL", message: error.message });
    },
    handler: (request, reply) => {
      const summary = summarize(request.body);
      const admission = admissions.get(request);
      if (admission) admission.request = summary;
      const refuse = (code: string, message: string) => {
        record(request, { result: "bad_request", status: 400, reason: code, message });
        reply.code(400).send({ code, message });
      };
      if (request.body === undefined) {
        refuse("ASK_WEBHOOK_BAD_REQUEST", "the body is empty: expected an AdmissionReview as JSON");
        return;
      }
      let answer: AdmissionResult;
      try {
        answer = admitReview(request.body, options.context());
      } catch (error) {
        if (isAgentStackError(error, "ASK_ADMISSION_INVALID_REVIEW")) {
          refuse(error.code, error.message);
          return;
        }
        const problem = error instanceof RangeError ? tooDeep(error) : jobProblem(request.body);
        if (problem !== undefined) {
          refuse("ASK_ADMISSION_INVALID_REVIEW", `invalid AdmissionReview: ${problem}`);
          return;
        }
        record(request, { result: "error", status: 500, error });
        reply.code(500).send({
          code: "INTERNAL",
          message: `internal error while admitting request ${summary.uid ?? "(no uid)"}: ${describe(error)}; this is a bug in agent-stack-k8s, the webhook log has its stack`,
        });
        return;
      }
      const { outcome, reason, path } = answer;
      record(request, { result: outcome, status: 200, reason, ...(path ? { path } : {}) });
      if (options.closing?.()) reply.header("connection", "close");
      reply.send(answer.review);
    },
  });
}

/**
 * A request that ended without an answer from the route: past the budget, Node's request timeout
 * answered 408 for it (see `server.ts`); otherwise its client went away.
 */
function unanswered(admission: Admission, requestTimeoutMs: number): Outcome {
  if (performance.now() - admission.startedAt >= requestTimeoutMs) {
    return {
      result: "bad_request",
      status: 408,
      reason: "ASK_WEBHOOK_BAD_REQUEST",
      message: requestTimeoutMessage(requestTimeoutMs),
    };
  }
  return { result: "error", abandoned: true };
}

export function requestTimeoutMessage(requestTimeoutMs: number): string {
  return `the request did not arrive within the webhook's ${requestTimeoutMs} ms request timeout`;
}

function badRequest(message: string): FastifyError {
  const error = new Error(message) as FastifyError;
  error.statusCode = 400;
  error.code = "ASK_WEBHOOK_BAD_REQUEST";
  return error;
}

function errorCode(error: FastifyError): string {
  return error.code?.startsWith("ASK_") ? error.code : "ASK_WEBHOOK_BAD_REQUEST";
}

/** fastify's own 4xx errors, reworded to say what the webhook expects. */
function clientErrorMessage(error: FastifyError, bodyLimit: number, contentType: string | undefined): string {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return `the body is larger than the limit of ${bodyLimit} bytes`;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return `the body must be an AdmissionReview as application/json, not ${contentType === undefined ? "a body without Content-Type" : JSON.stringify(contentType.slice(0, 100))}`;
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return "the Content-Length header does not match the body";
    default:
      return error.message;
  }
}

/**
 * Why `request.object` is not a Job, if it is not one: kube-apiserver always sends a well-typed object,
 * so an exception on a malformed one is the sender's fault (400), while one on a valid Job is ours (500).
 */
function jobProblem(body: unknown): string | undefined {
  const request = isPlainObject(body) ? body.request : undefined;
  const object = isPlainObject(request) ? request.object : undefined;
  if (!isPlainObject(object)) return undefined;
  try {
    decodeDefinition(object, "io.k8s.api.batch.v1.Job", {
      errorCode: "ASK_ADMISSION_INVALID_REVIEW",
      unknownFields: "drop",
      rootPath: "request.object",
    });
    const nullItem = nullListItem(object, "request.object");
    return nullItem === undefined ? undefined : `${nullItem} is null, which no list of a Job may hold`;
  } catch (error) {
    // A document nested deeper than the stack: not anything kube-apiserver sends.
    return isAgentStackError(error) ? error.message : `request.object cannot be read: ${describe(error)}`;
  }
}

/** The path of the first null list item: kube-apiserver encodes typed lists, which never hold one. */
function nullListItem(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = item === null ? `${path}[${index}]` : nullListItem(item, `${path}[${index}]`);
      if (found !== undefined) return found;
    }
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const found = nullListItem(item, `${path}.${key}`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * A stack overflow: the Job is nested deeper than any Job kube-apiserver sends (its schema has no
 * free-form fields, so a real Job is a few dozen levels deep at most).
 */
function tooDeep(error: RangeError): string | undefined {
  return /call stack/i.test(error.message) ? "request.object is nested too deeply to be a Job" : undefined;
}

/** uid, Job and Buildkite job of a request, read defensively: the body may be anything. */
function summarize(body: unknown): RequestSummary {
  const request = isPlainObject(body) ? body.request : undefined;
  if (!isPlainObject(request)) return {};
  const object = isPlainObject(request.object) ? request.object : {};
  const metadata = isPlainObject(object.metadata) ? object.metadata : {};
  const labels = isPlainObject(metadata.labels) ? metadata.labels : {};
  const namespace = text(metadata.namespace) ?? text(request.namespace);
  const name = text(metadata.name) ?? text(request.name) ?? generated(metadata.generateName);
  const jobUuid = text(labels[LABEL_JOB_UUID]);
  return {
    ...(text(request.uid) ? { uid: text(request.uid) } : {}),
    ...(name ? { job: namespace ? `${namespace}/${name}` : name } : {}),
    ...(jobUuid ? { jobUuid } : {}),
    ...(text(request.operation) ? { operation: text(request.operation) } : {}),
  };
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function generated(prefix: unknown): string | undefined {
  return typeof prefix === "string" && prefix !== "" ? `${prefix}*` : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
