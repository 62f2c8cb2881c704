/**
 * Whether a webhook configuration's caBundle verifies the webhook's serving certificate, as
 * kube-apiserver checks it when it calls the webhook: the certificate, through any intermediates that
 * follow it in tls.crt, is signed by a CA of the bundle; each certificate on the way is valid now; and
 * the first one covers `<service>.<namespace>.svc`. Bad material is a problem in the answer, never a
 * throw, and the answer never quotes a PEM.
 */
import type { X509Certificate } from "node:crypto";
import { coverageProblem, issuerProblem, parseCertificates, timeProblem } from "./inspect.ts";

export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltNames: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly sha256Fingerprint: string;
}

export interface ServingVerification {
  readonly verified: boolean;
  /** Why not, one line each. */
  readonly problems: readonly string[];
  /** The serving certificate, and the CA of the bundle that signed its chain, when found. */
  readonly serving?: CertificateSummary;
  readonly signedBy?: CertificateSummary;
}

export interface VerifyOptions {
  /** PEM: the decoded caBundle. */
  readonly caBundle: string;
  /** PEM: tls.crt, the serving certificate first. */
  readonly servingChain: string;
  /** The name kube-apiserver checks: `<service>.<namespace>.svc`. */
  readonly serverName: string;
  readonly now?: Date;
  /** How to name the two inputs in problems: `caBundle of …`, `Secret ns/name tls.crt`. */
  readonly bundleSource?: string;
  readonly servingSource?: string;
}

export function verifyServingCertificate(options: VerifyOptions): ServingVerification {
  const now = options.now ?? new Date();
  const bundleSource = options.bundleSource ?? "caBundle";
  const servingSource = options.servingSource ?? "tls.crt";
  let bundle: X509Certificate[];
  let chain: X509Certificate[];
  try {
    bundle = parseCertificates(options.caBundle, bundleSource);
    chain = parseCertificates(options.servingChain, servingSource);
  } catch (error) {
    return { verified: false, problems: [(error as Error).message] };
  }
  const serving = chain[0] as X509Certificate;
  const problems = [
    timeProblem(serving, now, servingSource),
    coverageProblem(serving, { dnsNames: [options.serverName] }, servingSource),
  ].filter((problem) => problem !== undefined);

  let current = serving;
  const intermediates = chain.slice(1);
  for (let depth = 0; depth <= intermediates.length; depth += 1) {
    const ca = bundle.find((candidate) => issuerProblem(current, candidate, "") === undefined);
    if (ca !== undefined) {
      const caProblem = timeProblem(ca, now, `${bundleSource}: the CA ${oneLine(ca.subject)}`);
      if (caProblem !== undefined) problems.push(caProblem);
      return { verified: problems.length === 0, problems, serving: summary(serving), signedBy: summary(ca) };
    }
    const next = intermediates.find((candidate) => issuerProblem(current, candidate, "") === undefined);
    if (next === undefined) break;
    const nextProblem = timeProblem(next, now, `${servingSource}: the intermediate ${oneLine(next.subject)}`);
    if (nextProblem !== undefined) problems.push(nextProblem);
    current = next;
  }
  problems.push(
    `${servingSource}: not signed by any CA of the ${bundleSource} (it was issued by ${oneLine(current.issuer)}; the bundle holds ${bundle.map((ca) => oneLine(ca.subject)).join("; ")})`,
  );
  return { verified: false, problems, serving: summary(serving) };
}

function summary(certificate: X509Certificate): CertificateSummary {
  return {
    subject: oneLine(certificate.subject),
    issuer: oneLine(certificate.issuer),
    subjectAltNames: certificate.subjectAltName ?? "",
    notBefore: certificate.validFromDate.toISOString(),
    notAfter: certificate.validToDate.toISOString(),
    sha256Fingerprint: certificate.fingerprint256,
  };
}

function oneLine(distinguishedName: string): string {
  return distinguishedName.split("\n").join(", ");
}
