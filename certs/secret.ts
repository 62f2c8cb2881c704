/**
 * The certificates in a Kubernetes Secret of type `kubernetes.io/tls`: `tls.crt`, `tls.key`, `ca.crt`
 * (the trusted CAs) and `ca.key`, which lets any replica sign the next serving certificate with the
 * same CA, so that renewing never changes the `caBundle` kube-apiserver trusts. The CA key lives only
 * in this Secret: whoever can read it can already read the serving key beside it.
 *
 * Several replicas may run this at once. The Secret is the one source of truth and every write is
 * conditional: a create that meets `AlreadyExists`, or an update that meets `Conflict`, reads the
 * Secret again and reuses what the other replica stored when it is valid, so all replicas end up
 * serving the same certificate.
 */
import type { V1Secret } from "@kubernetes/client-node";
import { callKube, type KubeCallOptions, type KubeClient } from "../runtime/kube.ts";
import { isKubeApiError } from "../runtime/kube-api-error.ts";
import type { Logger } from "../runtime/logger.ts";
import { AgentStackError } from "../src/errors.ts";
import { apiFailure } from "./api-failure.ts";
import { type ServingCertificateOptions, servingNames } from "./generate.ts";
import { inspectCertificates, renewalSchedule, type StoredCertificates } from "./inspect.ts";
import { type RenewedCertificates, renewCertificates } from "./renew.ts";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "agent-stack-k8s";
const TLS_TYPE = "kubernetes.io/tls";

export interface CertificateSecretOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** What the serving certificate is for; `now` is taken from `now()` at each decision. */
  readonly certificates: Omit<ServingCertificateOptions, "now">;
  readonly renewFraction?: number;
  readonly now?: () => Date;
  /** Timeout, retries of transient errors and cancellation of each API call. */
  readonly call?: KubeCallOptions;
  /** Reads and conditional writes in all before giving up on replicas racing; default 5. */
  readonly attempts?: number;
  readonly logger?: Logger;
}

export type SecretAction = "created" | "reused" | "renewed" | "replaced";

export interface EnsuredSecret {
  readonly stored: StoredCertificates;
  readonly action: SecretAction;
  /** Why the certificates were renewed or replaced. */
  readonly reason: string | undefined;
  readonly renewAt: Date;
  readonly notAfter: Date;
}

/** Creates, reuses or renews the certificate Secret; resolves with what it holds afterwards. */
export async function ensureCertificateSecret(options: CertificateSecretOptions): Promise<EnsuredSecret> {
  const { namespace, name } = options;
  const now = options.now ?? (() => new Date());
  const names = servingNames(options.certificates);
  const where = `Secret ${namespace}/${name}`;
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const existing = await readSecret(options, where);
    let reason: string | undefined;
    let next: RenewedCertificates;
    if (existing === undefined) {
      next = await renewCertificates(undefined, undefined, { ...options.certificates, now: now() });
    } else {
      const current = storedIn(existing, where);
      const inspection = inspectCertificates(current, {
        ...names,
        now: now(),
        source: where,
        ...(options.renewFraction === undefined ? {} : { renewFraction: options.renewFraction }),
      });
      if (inspection.decision === "reuse") {
        const { renewAt, notAfter } = inspection;
        return { stored: current, action: "reused", reason: undefined, renewAt, notAfter };
      }
      if (!isManaged(existing)) {
        throw new AgentStackError(
          "ASK_CERTS_SECRET_NOT_USABLE",
          `${where} was not created by agent-stack-k8s (no label ${MANAGED_BY_LABEL}=${MANAGED_BY}) and its certificates cannot be used: ${inspection.reason}; delete it, give it that label, or name another Secret`,
        );
      }
      reason = inspection.reason;
      next = await renewCertificates(current, inspection, { ...options.certificates, now: now() });
    }
    if ((await writeSecret(options, where, existing, next.stored)) === "raced") {
      options.logger?.info(
        { secret: `${options.namespace}/${options.name}`, attempt },
        "another replica wrote the certificate Secret first; reading it again",
      );
      continue;
    }
    const written = renewalSchedule(next.stored, options.renewFraction);
    return {
      stored: next.stored,
      action: next.action,
      reason,
      renewAt: written.renewAt,
      notAfter: written.notAfter,
    };
  }
  throw new AgentStackError(
    "ASK_CERTS_KUBERNETES_API",
    `${where}: still changing under us after ${attempts} conditional writes; other replicas keep replacing it`,
  );
}

async function readSecret(options: CertificateSecretOptions, where: string): Promise<V1Secret | undefined> {
  try {
    return await callKube(
      `get ${where}`,
      (call) =>
        options.client.request<V1Secret>(
          {
            method: "GET",
            path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/secrets/${encodeURIComponent(options.name)}`,
          },
          call,
        ),
      options.call,
    );
  } catch (error) {
    if (isKubeApiError(error, "NotFound")) return undefined;
    throw apiFailure(error);
  }
}

/** `raced` when another replica wrote first (AlreadyExists on create, Conflict on update). */
async function writeSecret(
  options: CertificateSecretOptions,
  where: string,
  existing: V1Secret | undefined,
  stored: Required<StoredCertificates>,
): Promise<"written" | "raced"> {
  const data = {
    // Keys someone else added to our Secret stay.
    ...(existing?.data ?? {}),
    "tls.crt": base64(stored.cert),
    "tls.key": base64(stored.key),
    "ca.crt": base64(stored.caCert),
    "ca.key": base64(stored.caKey),
  };
  try {
    if (existing === undefined) {
      const body: V1Secret = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: options.name,
          namespace: options.namespace,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
        },
        type: TLS_TYPE,
        data,
      };
      await callKube(
        `create ${where}`,
        (call) =>
          options.client.request(
            {
              method: "POST",
              path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/secrets`,
              body,
              discardBody: true,
            },
            call,
          ),
        options.call,
      );
    } else {
      // The resourceVersion read makes the update conditional: a replica that wrote since gets us a Conflict.
      const body: V1Secret = { ...existing, data };
      await callKube(
        `update ${where}`,
        (call) =>
          options.client.request(
            {
              method: "PUT",
              path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/secrets/${encodeURIComponent(options.name)}`,
              body,
              discardBody: true,
            },
            call,
          ),
        options.call,
      );
    }
    return "written";
  } catch (error) {
    if (isKubeApiError(error, "AlreadyExists") || isKubeApiError(error, "Conflict")) return "raced";
    throw apiFailure(error);
  }
}

/** The certificates in a Secret; a missing key reads as empty, which inspection reports as unusable. */
function storedIn(secret: V1Secret, where: string): StoredCertificates {
  if (secret.type !== TLS_TYPE) {
    throw new AgentStackError(
      "ASK_CERTS_SECRET_NOT_USABLE",
      `${where} has type ${JSON.stringify(secret.type ?? "Opaque")}, not ${TLS_TYPE}, and a Secret's type cannot change; delete it or name another Secret`,
    );
  }
  const data = secret.data ?? {};
  const text = (key: string) =>
    data[key] === undefined ? "" : Buffer.from(data[key], "base64").toString("utf8");
  return {
    caCert: text("ca.crt"),
    caKey: data["ca.key"] === undefined ? undefined : text("ca.key"),
    cert: text("tls.crt"),
    key: text("tls.key"),
  };
}

function isManaged(secret: V1Secret): boolean {
  return secret.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
}

function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}
