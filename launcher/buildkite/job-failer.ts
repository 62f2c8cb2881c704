/**
 * Fails a Buildkite job with a message in its log the way upstream v0.26.0 does (controller-runtime.md
 * §3): a throw-away agent registers with the registration token, connects, acquires the job, starts
 * it, uploads the message as one gzip log chunk, finishes it with exit status 1, and disconnects. Each
 * step has the retry budget the agent library v3.93.1 gives it (§3.2, §3.3).
 *
 * One change from upstream: when the log chunk cannot be uploaded, the job is still finished (with
 * `chunks_failed_count: 1`, as an agent reports a lost chunk) instead of being left running on
 * Buildkite until its agent is declared lost.
 */
import { arch, hostname, release, type } from "node:os";
import { gzipSync } from "node:zlib";
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import { AgentStackError, isAgentStackError } from "../../src/errors.ts";
import { type FailJobRequest, JobAcquisitionRejectedError, type JobFailer } from "../types.ts";
import {
  AgentApiClient,
  AgentApiError,
  isAgentApiError,
  omitEmpty,
  railsPathEscape,
  rfc3339Nano,
} from "./agent-api.ts";
import {
  type Attempt,
  constantBackoff,
  exponentialBackoff,
  exponentialSubsecondBackoff,
  type RetryClock,
  type RetryPolicy,
  retry,
  SYSTEM_RETRY_CLOCK,
  withJitter,
} from "./retry.ts";

/** The agent library whose protocol the throw-away agent speaks; Buildkite sees it as the agent version. */
export const AGENT_LIBRARY_VERSION = "3.93.1";
const AGENT_BUILD = "x";

/** The retry budget of each step, as the agent library v3.93.1 sets it. */
export const FAIL_SEQUENCE_RETRIES = {
  register: { attempts: 30, backoff: constantBackoff(10_000) },
  connect: { attempts: 10, backoff: constantBackoff(5_000) },
  // 2^n s plus a jitter in [-1 s, +5 s), within 330 s.
  acquire: { attempts: 7, backoff: withJitter(exponentialBackoff(), -1_000, 5_000), deadlineMs: 330_000 },
  start: { attempts: 7, backoff: exponentialBackoff() },
  chunk: {
    attempts: 12,
    backoff: withJitter(exponentialSubsecondBackoff(2_000), 0, 1_000),
    deadlineMs: 3_600_000,
  },
  finish: {
    attempts: 12,
    backoff: withJitter(exponentialSubsecondBackoff(2_000), 0, 1_000),
    deadlineMs: 3_600_000,
  },
  disconnect: { attempts: 4, backoff: constantBackoff(1_000) },
} as const satisfies Record<string, RetryPolicy>;

/** When the caller has given up (shutdown), the agent still says goodbye, briefly. */
const DISCONNECT_AFTER_ABORT_MS = 5_000;

/**
 * The registration token (the `BUILDKITE_AGENT_TOKEN` of `agent-token-secret`), read when needed. A
 * provider that caches may offer `invalidate`, called when Buildkite refuses the token (rotated Secret).
 */
export type AgentTokenProvider = ((signal: AbortSignal) => Promise<string>) & { invalidate?(): void };

/** A provider that always gives the same token: for tests and for tokens given directly. */
export function staticTokenProvider(token: string): AgentTokenProvider {
  return async () => token;
}

/** What the throw-away agent tells Buildkite about the machine it runs on. */
export interface AgentHost {
  readonly hostname: string;
  readonly os: string;
  readonly arch: string;
  readonly pid: number;
}

export interface AgentJobFailerOptions {
  readonly tokenProvider: AgentTokenProvider;
  /** `agent-config.endpoint`; Buildkite's default when empty. */
  readonly endpoint?: string;
  /** The controller's version, for `User-Agent: agent-stack-k8s/<version>`. */
  readonly version: string;
  readonly logger: Logger;
  readonly clock?: RetryClock;
  readonly fetch?: typeof fetch;
  /** Each request's timeout (60 s). */
  readonly timeoutMs?: number;
  readonly host?: AgentHost;
}

interface AcquiredJob {
  readonly id: string;
}

export class AgentJobFailer implements JobFailer {
  readonly #options: AgentJobFailerOptions;
  readonly #clock: RetryClock;
  readonly #host: AgentHost;

  constructor(options: AgentJobFailerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? SYSTEM_RETRY_CLOCK;
    this.#host = options.host ?? localHost();
  }

  async failJob(request: FailJobRequest, signal: AbortSignal): Promise<void> {
    const logger = this.#options.logger.child({ jobUuid: request.uuid, agent: request.agentName });
    let agent: AgentApiClient;
    try {
      const registrationToken = await this.#options.tokenProvider(signal);
      const unregistered = new AgentApiClient({
        token: registrationToken,
        userAgent: `agent-stack-k8s/${this.#options.version}`,
        clock: this.#clock,
        ...(this.#options.endpoint === undefined ? {} : { endpoint: this.#options.endpoint }),
        ...(this.#options.fetch === undefined ? {} : { fetch: this.#options.fetch }),
        ...(this.#options.timeoutMs === undefined ? {} : { timeoutMs: this.#options.timeoutMs }),
      });
      agent = await this.#register(unregistered, request, logger, signal);
      await this.#connect(agent, logger, signal);
    } catch (error) {
      // The token was refused: the next failure reads the Secret again instead of the cached token.
      if (isAgentApiError(error, 401)) this.#options.tokenProvider.invalidate?.();
      throw stepFailed("registering or connecting ephemeral agent", error, logger, signal);
    }
    try {
      const job = await this.#acquire(agent, request.uuid, logger, signal).catch((error: unknown) => {
        throw stepFailed("acquiring job", error, logger, signal);
      });
      await this.#start(agent, job, logger, signal).catch((error: unknown) => {
        throw stepFailed("starting job", error, logger, signal);
      });
      const chunkUploaded = await this.#uploadLog(agent, job, request.message, logger, signal).then(
        () => true,
        (error: unknown) => {
          if (signal.aborted) throw signal.reason;
          // Finishing matters more than the log: a job left running waits for its agent to be lost.
          logger.warn(
            { err: messageOf(error) },
            `writing log: ${messageOf(error)}; finishing the job anyway`,
          );
          return false;
        },
      );
      await this.#finish(agent, job, chunkUploaded ? 0 : 1, logger, signal).catch((error: unknown) => {
        throw stepFailed("finishing job", error, logger, signal);
      });
      logger.info("failed the Buildkite job (exit status 1) with the reason in its log");
    } finally {
      await this.#disconnect(agent, logger, signal);
    }
  }

  async #register(
    client: AgentApiClient,
    request: FailJobRequest,
    logger: Logger,
    signal: AbortSignal,
  ): Promise<AgentApiClient> {
    const body = omitEmpty(
      {
        name: request.agentName,
        hostname: this.#host.hostname,
        os: this.#host.os,
        arch: this.#host.arch,
        script_eval_enabled: true,
        // The throw-away agent must never be given other jobs.
        ignore_in_dispatches: true,
        priority: "",
        version: AGENT_LIBRARY_VERSION,
        build: AGENT_BUILD,
        meta_data: [...request.tags],
        pid: this.#host.pid,
        machine_id: "",
        features: ["agent-core"],
      },
      ["priority", "pid", "machine_id"],
    );
    const response = await retry(FAIL_SEQUENCE_RETRIES.register, this.#clock, signal, async (attempt) => {
      try {
        return await client.send({ method: "POST", path: "register", json: body }, signal);
      } catch (error) {
        // A refused registration token stays refused.
        if (isAgentApiError(error, 401) || !isAgentApiError(error)) attempt.stop();
        logRetry(logger, "register", error, attempt, FAIL_SEQUENCE_RETRIES.register.attempts);
        throw error;
      }
    });
    const fields = asObject(response.body);
    const accessToken = fields.access_token;
    if (typeof accessToken !== "string" || accessToken === "") {
      throw new AgentStackError(
        "ASK_BUILDKITE_AGENT_API",
        "POST register: the response has no access_token for the agent",
      );
    }
    logger.info(
      `Successfully registered agent ${JSON.stringify(request.agentName)} with tags [${request.tags.join(", ")}]`,
    );
    const endpoint = typeof fields.endpoint === "string" ? fields.endpoint : "";
    // Buildkite may send the agent elsewhere for the rest of its life.
    return client.with({ token: accessToken, endpoint });
  }

  async #connect(agent: AgentApiClient, logger: Logger, signal: AbortSignal): Promise<void> {
    await retry(FAIL_SEQUENCE_RETRIES.connect, this.#clock, signal, async (attempt) => {
      try {
        await agent.send({ method: "POST", path: "connect" }, signal);
      } catch (error) {
        if (!isAgentApiError(error)) attempt.stop();
        logRetry(logger, "connect", error, attempt, FAIL_SEQUENCE_RETRIES.connect.attempts);
        throw error;
      }
    });
  }

  async #acquire(
    agent: AgentApiClient,
    uuid: string,
    logger: Logger,
    signal: AbortSignal,
  ): Promise<AcquiredJob> {
    const response = await retry(FAIL_SEQUENCE_RETRIES.acquire, this.#clock, signal, async (attempt) => {
      try {
        return await agent.send(
          {
            method: "PUT",
            path: `jobs/${railsPathEscape(uuid)}/acquire`,
            headers: {
              "X-Buildkite-Lock-Acquire-Job": "1",
              "X-Buildkite-Backoff-Sequence": String(attempt.index),
            },
            ...(attempt.deadline === undefined ? {} : { deadline: attempt.deadline }),
            announceDeadline: true,
          },
          signal,
        );
      } catch (error) {
        throw this.#acquireError(error, attempt, logger);
      }
    });
    const id = asObject(response.body).id;
    if (typeof id !== "string" || id === "") {
      throw new AgentStackError(
        "ASK_BUILDKITE_AGENT_API",
        `PUT jobs/${uuid}/acquire: the response has no job id`,
      );
    }
    return { id };
  }

  /** What each answer to an acquire means (§3.3); returns the error to throw for this attempt. */
  #acquireError(error: unknown, attempt: Attempt, logger: Logger): unknown {
    if (!(error instanceof AgentApiError)) {
      attempt.stop();
      return error;
    }
    const status = error.status;
    if (
      status !== undefined &&
      error.retryAfterMs !== undefined &&
      (status === 423 || status === 429 || status >= 500)
    ) {
      attempt.retryAfter(error.retryAfterMs);
    }
    if (status === undefined) {
      logger.warn({ attempt: attempt.index + 1 }, `acquire: ${error.message}; retrying`);
    } else if (status === 423) {
      logger.info({ attempt: attempt.index + 1 }, `The job is waiting for a dependency: (${error.message})`);
    } else if (status === 429) {
      logger.warn({ attempt: attempt.index + 1 }, `Rate limited by the backend: ${error.message}`);
    } else if (status >= 500) {
      logger.warn({ attempt: attempt.index + 1 }, `Server error: ${error.message}`);
    } else if (status === 422) {
      attempt.stop();
      logger.info(`Buildkite rejected the call to acquire the job: ${error.message}`);
      return new JobAcquisitionRejectedError(`job acquisition rejected: ${error.message}`, { cause: error });
    } else if (status >= 400) {
      attempt.stop();
      logger.warn(`acquire: ${error.message}`);
    } else {
      logger.warn({ attempt: attempt.index + 1 }, `acquire: ${error.message}; retrying`);
    }
    return error;
  }

  async #start(agent: AgentApiClient, job: AcquiredJob, logger: Logger, signal: AbortSignal): Promise<void> {
    const json = { started_at: rfc3339Nano(this.#clock.now()) };
    await retry(FAIL_SEQUENCE_RETRIES.start, this.#clock, signal, async (attempt) => {
      try {
        await agent.send({ method: "PUT", path: `jobs/${railsPathEscape(job.id)}/start`, json }, signal);
      } catch (error) {
        if (!isAgentApiError(error) || !error.retryable) {
          attempt.stop();
          logger.warn(`Buildkite rejected the call to start the job (${messageOf(error)})`);
        } else {
          logRetry(logger, "start", error, attempt, FAIL_SEQUENCE_RETRIES.start.attempts);
        }
        throw error;
      }
    });
  }

  /** The message as the job's whole log: one chunk, sequence 0 at offset 0, gzip-compressed. */
  async #uploadLog(
    agent: AgentApiClient,
    job: AcquiredJob,
    message: string,
    logger: Logger,
    signal: AbortSignal,
  ): Promise<void> {
    const data = Buffer.from(message, "utf8");
    const compressed = gzipSync(data);
    const path = `jobs/${railsPathEscape(job.id)}/chunks?sequence=0&offset=0&size=${data.length}`;
    await retry(FAIL_SEQUENCE_RETRIES.chunk, this.#clock, signal, async (attempt) => {
      try {
        await agent.send(
          {
            method: "POST",
            path,
            body: compressed,
            headers: { "Content-Type": "text/plain", "Content-Encoding": "gzip" },
            // Chunk uploads are built without the timeout header, but the 1 h budget still bounds them.
            ...(attempt.deadline === undefined ? {} : { deadline: attempt.deadline }),
          },
          signal,
        );
      } catch (error) {
        if (
          !isAgentApiError(error) ||
          (error.status !== undefined && error.status >= 400 && error.status < 500)
        ) {
          attempt.stop();
          logger.warn(`Buildkite rejected the chunk upload (${messageOf(error)})`);
        } else {
          logRetry(logger, "chunk upload", error, attempt, FAIL_SEQUENCE_RETRIES.chunk.attempts);
        }
        throw error;
      }
    });
  }

  async #finish(
    agent: AgentApiClient,
    job: AcquiredJob,
    chunksFailed: number,
    logger: Logger,
    signal: AbortSignal,
  ): Promise<void> {
    // `exit_status` is a string in the Agent API; signal and signal_reason are omitted when empty.
    const json = omitEmpty(
      {
        exit_status: "1",
        signal: "",
        signal_reason: "",
        finished_at: rfc3339Nano(this.#clock.now()),
        chunks_failed_count: chunksFailed,
      },
      ["signal", "signal_reason"],
    );
    await retry(FAIL_SEQUENCE_RETRIES.finish, this.#clock, signal, async (attempt) => {
      try {
        await agent.send(
          {
            method: "PUT",
            path: `jobs/${railsPathEscape(job.id)}/finish`,
            json,
            ...(attempt.deadline === undefined ? {} : { deadline: attempt.deadline }),
            announceDeadline: true,
          },
          signal,
        );
      } catch (error) {
        if (!isAgentApiError(error) || error.status === 422 || error.status === 401) {
          attempt.stop();
          logger.warn(`Buildkite rejected the call to finish the job (${messageOf(error)})`);
        } else {
          logRetry(logger, "finish", error, attempt, FAIL_SEQUENCE_RETRIES.finish.attempts);
        }
        throw error;
      }
    });
  }

  /** Always after a successful register and connect, whatever happened since; its failure is only logged. */
  async #disconnect(agent: AgentApiClient, logger: Logger, signal: AbortSignal): Promise<void> {
    const disconnectSignal = signal.aborted ? AbortSignal.timeout(DISCONNECT_AFTER_ABORT_MS) : signal;
    try {
      await retry(FAIL_SEQUENCE_RETRIES.disconnect, this.#clock, disconnectSignal, async (attempt) => {
        try {
          await agent.send({ method: "POST", path: "disconnect" }, disconnectSignal);
        } catch (error) {
          if (!isAgentApiError(error)) attempt.stop();
          logRetry(logger, "disconnect", error, attempt, FAIL_SEQUENCE_RETRIES.disconnect.attempts);
          throw error;
        }
      });
    } catch (error) {
      logger.warn(
        { err: messageOf(error) },
        "could not disconnect the throw-away agent; Buildkite will mark it lost",
      );
    }
  }
}

/** The failer the launcher uses: `agent-config.endpoint` and the controller's version. */
export function jobFailerFromConfig(
  config: Pick<Config, "agentConfig">,
  options: Omit<AgentJobFailerOptions, "endpoint">,
): AgentJobFailer {
  const endpoint = config.agentConfig?.endpoint;
  return new AgentJobFailer({ ...options, ...(endpoint ? { endpoint } : {}) });
}

/** The step's error, logged and wrapped with the step's name as upstream words it. */
function stepFailed(step: string, error: unknown, logger: Logger, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  if (error instanceof JobAcquisitionRejectedError) {
    return new JobAcquisitionRejectedError(`${step}: ${error.message}`, { cause: error.cause });
  }
  const message = `${step}: ${messageOf(error)}`;
  logger.warn(message);
  return isAgentStackError(error)
    ? new AgentStackError(error.code, message, { cause: error })
    : new AgentStackError("ASK_BUILDKITE_AGENT_API", message, { cause: error });
}

function logRetry(logger: Logger, call: string, error: unknown, attempt: Attempt, attempts: number): void {
  logger.debug({ attempt: attempt.index + 1, attempts, err: messageOf(error) }, `${call} failed`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function localHost(): AgentHost {
  const machine = arch();
  return {
    hostname: hostname(),
    os: `${type()} ${release()}`,
    // Go's names for the architecture, as the agent reports them.
    arch: machine === "x64" ? "amd64" : machine === "ia32" ? "386" : machine,
    pid: process.pid,
  };
}
