/**
 * What a store holds next, given what it holds now: the one place that turns an inspection into new
 * material, shared by the Secret and the directory stores.
 *
 * When the CA itself is replaced, `ca.crt` keeps the previous CA after the new one while it is still
 * valid. kube-apiserver then trusts both during the rotation: webhook replicas that still serve the
 * old certificate (a mounted Secret takes a while to reach every pod) keep working once the new
 * `caBundle` is patched in.
 */
import { X509Certificate } from "node:crypto";
import {
  type CertificateAuthority,
  generateCertificates,
  issueServingCertificate,
  type ServingCertificateOptions,
} from "./generate.ts";
import { type Inspection, parseCertificates, type StoredCertificates } from "./inspect.ts";

export interface RenewedCertificates {
  readonly stored: Required<StoredCertificates>;
  /** `created`: there was nothing; `renewed`: same CA, new serving certificate; `replaced`: new CA. */
  readonly action: "created" | "renewed" | "replaced";
}

export async function renewCertificates(
  current: StoredCertificates | undefined,
  inspection: Exclude<Inspection, { decision: "reuse" }> | undefined,
  options: ServingCertificateOptions,
): Promise<RenewedCertificates> {
  const now = options.now ?? new Date();
  if (inspection?.decision === "renew") {
    const issued = await issueServingCertificate(issuerOf(inspection.ca), { ...options, now });
    return {
      action: "renewed",
      stored: {
        caCert: trustBundle(issued.caCert, stillValid(inspection.ca.caCert, now).slice(1)),
        caKey: inspection.ca.caKey,
        cert: issued.cert,
        key: issued.key,
      },
    };
  }
  const fresh = await generateCertificates({ ...options, now });
  const previous = current === undefined ? [] : stillValid(current.caCert, now).slice(0, 1);
  return {
    action: current === undefined ? "created" : "replaced",
    stored: {
      caCert: trustBundle(fresh.caCert, previous),
      caKey: fresh.caKey,
      cert: fresh.cert,
      key: fresh.key,
    },
  };
}

/** The issuing CA alone: `ca.crt` may carry the previous CA after it. */
function issuerOf(ca: CertificateAuthority): CertificateAuthority {
  const [first] = parseCertificates(ca.caCert, "ca.crt");
  return { caCert: `${(first as X509Certificate).toString().trim()}\n`, caKey: ca.caKey };
}

/** The CA certificates of `pem` that are CAs and not expired at `now`, in order; none if it does not parse. */
function stillValid(pem: string, now: Date): X509Certificate[] {
  let certificates: X509Certificate[];
  try {
    certificates = parseCertificates(pem, "ca.crt");
  } catch {
    return [];
  }
  return certificates.filter((certificate) => certificate.ca && now < certificate.validToDate);
}

function trustBundle(issuing: string, others: readonly X509Certificate[]): string {
  const issuingFingerprint = new X509Certificate(issuing).fingerprint256;
  const rest = others
    .filter((certificate) => certificate.fingerprint256 !== issuingFingerprint)
    .map((certificate) => certificate.toString().trim());
  return `${[issuing.trim(), ...rest].join("\n")}\n`;
}
