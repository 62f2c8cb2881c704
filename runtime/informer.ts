/**
 * A list-and-watch cache of one kind of object, like client-go's informer: list, then watch from the
 * list's resourceVersion, and tell subscribers about every add, update and delete. The one informer of
 * the stack: the launcher's Jobs and Pods, the webhook's PodTemplates, the certs keeper's webhook
 * configuration. Unlike `makeInformer` of
 * `@kubernetes/client-node`, it
 *
 * - keeps only a transform of each object (the fields its users read), made as the object arrives, as
 *   upstream HEAD's informer transform does: the full objects are garbage at once;
 * - passes the previous snapshot with an update, and the last one with a delete;
 * - restarts on its own after a failed list or watch, with a back-off that doubles up to a bound, and
 *   says meanwhile that it is not ready; a watch whose resourceVersion has expired (410 Gone) lists
 *   again at once, and a relist tells subscribers about what changed while it was not watching;
 * - asks the server to end each watch after 20–28 seconds, under the client's fixed 30 s idle timeout
 *   (client-node's `Watch` aborts a watch that has said nothing for 30 s), and resumes from the last
 *   resourceVersion at once: a quiet watch ends cleanly instead of looking like a failure, while a
 *   server that does not answer a watch at all is still noticed within 30 s.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { exponentialDelay, spread } from "./backoff.ts";
import { callKube, kubeClient, Watch } from "./kube.ts";
import type { Logger } from "./logger.ts";
import { sleep } from "./sleep.ts";

export type InformerEvent<S> =
  | { readonly type: "add"; readonly object: S }
  | { readonly type: "update"; readonly object: S; readonly previous: S }
  | { readonly type: "delete"; readonly object: S };

export type InformerListener<S> = (event: InformerEvent<S>) => void;

export interface Informer<S> {
  /** Starts listing and watching, once. */
  start(): void;
  /** Stops watching; resolves when the loop has ended. */
  stop(): Promise<void>;
  /** Resolves once the first list is in the cache; rejects when `signal` aborts first. */
  synced(signal?: AbortSignal): Promise<void>;
  /** The first list arrived and the watch is up: false while restarting after a failure. */
  ready(): boolean;
  /** The first list arrived: the cache has served since, even while the watch restarts. */
  hasSynced(): boolean;
  /** Why it is not ready, for readiness endpoints and logs; undefined when ready. */
  notReadyReason(): string | undefined;
  list(): readonly S[];
  get(name: string): S | undefined;
  /** Called after each change of the cache, in order; returns the unsubscribe function. */
  subscribe(listener: InformerListener<S>): () => void;
}

/** One page of a list, as the API server sends it. */
interface ListPage {
  readonly items?: readonly unknown[];
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
}

export interface InformerOptions<S> {
  readonly kubeConfig: KubeConfig;
  /** The collection: `/apis/batch/v1/namespaces/buildkite/jobs`. */
  readonly path: string;
  /** For logs: `Jobs`. */
  readonly what: string;
  /** Added to the failure log until the first list arrives: what the user can do about it. */
  readonly hint?: string;
  /** Only objects with these labels; all of them when absent. */
  readonly labelSelector?: string;
  /** A field selector too, such as `metadata.name=<name>` to follow one object. */
  readonly fieldSelector?: string;
  /**
   * Bound on each list call (one page of `LIST_PAGE` objects); the API server is asked to give up
   * after it too. Default 60 s.
   */
  readonly listTimeoutMs?: number;
  /** What the cache keeps of an object; undefined skips it. */
  readonly transform: (object: unknown) => S | undefined;
  readonly nameOf: (snapshot: S) => string;
  readonly versionOf: (snapshot: S) => string;
  readonly logger: Logger;
  /** First wait after a failure; doubles up to `maxBackoffMs`. Defaults 1 s and 30 s. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Each restart after a failure, for a metric. */
  readonly onRestart?: () => void;
}

const DEFAULT_LIST_TIMEOUT_MS = 60_000;
/**
 * Objects per list page, as client-go's reflector pages them: a list of thousands of expanded Jobs
 * arrives, and is reduced to snapshots, a page at a time instead of as one document of tens of MB.
 */
const LIST_PAGE = 500;
const DEFAULT_INITIAL_BACKOFF_MS = 1_000;
const DEFAULT_MAX_BACKOFF_MS = 30_000;
const MIN_WATCH_SECONDS = 20;
const WATCH_SECONDS_SPREAD = 8;
/** A watch that ends sooner than this without delivering anything counts as a failure (no tight loop). */
const SHORT_WATCH_MS = 1_000;

class WatchFailure extends Error {
  readonly gone: boolean;
  constructor(message: string, gone = false, options?: { cause?: unknown }) {
    super(message, options);
    this.gone = gone;
  }
}

export function createInformer<S>(options: InformerOptions<S>): Informer<S> {
  const { logger, what } = options;
  const initialBackoffMs = options.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS;
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  const listTimeoutMs = options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS;
  const client = kubeClient(options.kubeConfig);
  const cache = new Map<string, S>();
  const listeners = new Set<InformerListener<S>>();
  const stopper = new AbortController();
  let resourceVersion = "";
  let hasSynced = false;
  let healthy = false;
  let lastFailure: string | undefined;
  let loop: Promise<void> | undefined;
  const syncWaiters = new Set<() => void>();

  const emit = (event: InformerEvent<S>) => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        logger.error({ err: error, what }, `a subscriber of the ${what} informer failed; carrying on`);
      }
    }
  };

  const put = (snapshot: S) => {
    const name = options.nameOf(snapshot);
    const previous = cache.get(name);
    cache.set(name, snapshot);
    if (previous === undefined) emit({ type: "add", object: snapshot });
    else if (options.versionOf(previous) !== options.versionOf(snapshot)) {
      emit({ type: "update", object: snapshot, previous });
    }
  };

  const remove = (name: string, last?: S) => {
    const previous = cache.get(name);
    if (previous === undefined) return;
    cache.delete(name);
    emit({ type: "delete", object: last ?? previous });
  };

  /** One page, one attempt, cancelled at the timeout: the informer's own restarts are the retries. */
  const listPage = (token: string | undefined) =>
    callKube(
      `list the ${what} of ${options.path}`,
      (signal) =>
        client.request<ListPage>(
          {
            method: "GET",
            path: options.path,
            query: {
              labelSelector: options.labelSelector || undefined,
              fieldSelector: options.fieldSelector || undefined,
              limit: LIST_PAGE,
              continue: token,
              timeoutSeconds: Math.ceil(listTimeoutMs / 1000),
            },
          },
          signal,
        ),
      {
        signal: stopper.signal,
        timeoutMs: listTimeoutMs,
        retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
      },
    );

  async function relist(): Promise<void> {
    const seen = new Set<string>();
    const snapshots: S[] = [];
    let listedVersion = "";
    let token: string | undefined;
    do {
      const page = await listPage(token);
      for (const item of page.items ?? []) {
        const snapshot = options.transform(item);
        if (snapshot === undefined) continue;
        seen.add(options.nameOf(snapshot));
        snapshots.push(snapshot);
      }
      listedVersion = page.metadata?.resourceVersion ?? "";
      token = page.metadata?.continue || undefined;
    } while (token !== undefined);
    for (const name of [...cache.keys()]) if (!seen.has(name)) remove(name);
    for (const snapshot of snapshots) put(snapshot);
    resourceVersion = listedVersion;
    if (!hasSynced) {
      hasSynced = true;
      logger.info({ what, count: cache.size }, `${what} cache synced`);
      for (const resolve of [...syncWaiters]) resolve();
    }
  }

  /** One watch, until the server ends it; throws `WatchFailure` when it fails. */
  function watchOnce(): Promise<{ delivered: boolean }> {
    return new Promise((resolve, reject) => {
      if (stopper.signal.aborted) {
        resolve({ delivered: false });
        return;
      }
      const timeoutSeconds = MIN_WATCH_SECONDS + Math.floor(Math.random() * WATCH_SECONDS_SPREAD);
      const watch = new Watch(options.kubeConfig);
      let delivered = false;
      let failure: WatchFailure | undefined;
      /** Set once the server answered the watch request (the client hands over its controller then). */
      let controller: AbortController | undefined;
      // Stopping does not wait for the server: a watch still waiting for its headers is abandoned here
      // and aborted as soon as the client hands over its controller.
      const onStop = () => {
        controller?.abort();
        resolve({ delivered });
      };
      stopper.signal.addEventListener("abort", onStop, { once: true });
      const finish = (error: unknown) => {
        stopper.signal.removeEventListener("abort", onStop);
        if (failure !== undefined) reject(failure);
        else if (isTimeout(error) && controller === undefined && !stopper.signal.aborted) {
          reject(new WatchFailure("the API server did not answer the watch request within 30 s"));
        } else if (isTimeout(error)) resolve({ delivered: true });
        else if (error !== null && error !== undefined && !stopper.signal.aborted) {
          reject(
            new WatchFailure(`watch failed: ${describe(error)}`, statusCodeOf(error) === 410, {
              cause: error,
            }),
          );
        } else resolve({ delivered });
      };
      const onEvent = (type: string, object: unknown) => {
        if (stopper.signal.aborted) return;
        if (type === "ERROR") {
          const status = object as { code?: number; message?: string } | undefined;
          failure = new WatchFailure(`watch error: ${status?.message ?? "unknown"}`, status?.code === 410);
          controller?.abort();
          return;
        }
        const version = (object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata
          ?.resourceVersion;
        if (type === "BOOKMARK") {
          if (version) resourceVersion = version;
          return;
        }
        const snapshot = options.transform(object);
        if (snapshot !== undefined) {
          if (type === "DELETED") remove(options.nameOf(snapshot), snapshot);
          else if (type === "ADDED" || type === "MODIFIED") put(snapshot);
        }
        if (version) resourceVersion = version;
        delivered = true;
      };
      watch
        .watch(
          options.path,
          {
            ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
            ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
            resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
          },
          onEvent,
          finish,
        )
        .then(
          (abort) => {
            controller = abort;
            if (stopper.signal.aborted) abort.abort();
            else if (!abort.signal.aborted) markHealthy();
          },
          (error: unknown) =>
            reject(new WatchFailure(`watch failed: ${describe(error)}`, false, { cause: error })),
        );
    });
  }

  function markHealthy(): void {
    if (!healthy && lastFailure !== undefined) logger.info({ what }, `${what} list/watch recovered`);
    healthy = true;
    lastFailure = undefined;
  }

  async function run(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!stopper.signal.aborted) {
      const startedAt = Date.now();
      try {
        if (needList) {
          await relist();
          needList = false;
          failures = 0;
        }
        const { delivered } = await watchOnce();
        if (!delivered && Date.now() - startedAt < SHORT_WATCH_MS) {
          throw new WatchFailure("the watch ended at once without events");
        }
        if (delivered) failures = 0;
      } catch (error) {
        if (stopper.signal.aborted) break;
        if (error instanceof WatchFailure && error.gone) {
          // The resourceVersion is too old: list again now, as client-go does.
          needList = true;
          continue;
        }
        failures += 1;
        healthy = false;
        lastFailure = describe(error);
        if (!(error instanceof WatchFailure)) needList = true;
        const jittered = Math.round(spread(exponentialDelay(initialBackoffMs, maxBackoffMs, failures), 0.2));
        options.onRestart?.();
        logger.warn(
          {
            what,
            err: lastFailure,
            failures,
            retryInMs: jittered,
            synced: hasSynced,
            ...(hasSynced || options.hint === undefined ? {} : { hint: options.hint }),
          },
          `${what} list/watch failed: starting again after a back-off`,
        );
        await sleep(jittered, stopper.signal).catch(() => {});
      }
    }
  }

  return {
    start() {
      if (loop !== undefined || stopper.signal.aborted) return;
      loop = run().catch((error: unknown) => {
        logger.error({ what, err: error }, `the ${what} informer loop ended unexpectedly`);
      });
    },
    async stop() {
      stopper.abort();
      for (const resolve of [...syncWaiters]) resolve();
      await loop;
    },
    synced(signal) {
      if (hasSynced) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const done = () => {
          syncWaiters.delete(done);
          signal?.removeEventListener("abort", onAbort);
          if (hasSynced) resolve();
          else reject(new Error(`the ${what} informer stopped before its first list`));
        };
        const onAbort = () => {
          syncWaiters.delete(done);
          reject(signal?.reason);
        };
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        signal?.addEventListener("abort", onAbort, { once: true });
        syncWaiters.add(done);
      });
    },
    ready: () => hasSynced && healthy,
    hasSynced: () => hasSynced,
    notReadyReason() {
      if (!hasSynced) return `waiting for the first list of ${what}${lastFailure ? ` (${lastFailure})` : ""}`;
      if (!healthy) return `the ${what} watch is restarting${lastFailure ? ` after: ${lastFailure}` : ""}`;
      return undefined;
    },
    list: () => [...cache.values()],
    get: (name) => cache.get(name),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** client-node's `Watch` reports both its connect and its idle timeout as a `TimeoutError`. */
function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === "TimeoutError";
}

function statusCodeOf(error: unknown): number | undefined {
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode === "number") return statusCode;
  return typeof code === "number" ? code : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const status = statusCodeOf(error);
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause instanceof Error && cause.message !== "" ? `: ${cause.message}` : "";
    return status === undefined ? `${error.message}${detail}` : `HTTP ${status} ${error.message}`;
  }
  return String(error);
}
