/**
 * `GET /healthz` and `GET /readyz`, the same for every long-running command whatever server carries
 * them: `/healthz` answers while the process does (liveness); `/readyz` is 200 once every check is
 * ready and 503 naming those that are not (readiness), so `kubectl describe pod` says what the process
 * is waiting for.
 */

export interface ReadinessCheck {
  /** What is being waited for, as the 503 answer names it. */
  readonly name: string;
  readonly ready: () => boolean;
}

export interface HealthAnswer {
  readonly status: 200 | 503;
  /** text/plain */
  readonly body: string;
}

export const HEALTH_PATHS = ["/healthz", "/readyz"] as const;

/** The answer to `GET path`; undefined for a path that is neither. */
export function healthAnswer(path: string, checks: readonly ReadinessCheck[]): HealthAnswer | undefined {
  if (path === "/healthz") return { status: 200, body: "ok\n" };
  if (path !== "/readyz") return undefined;
  const waiting = checks.filter((check) => !check.ready()).map((check) => check.name);
  return waiting.length > 0
    ? { status: 503, body: `not ready: waiting for ${waiting.join(", ")}\n` }
    : { status: 200, body: "ok\n" };
}
