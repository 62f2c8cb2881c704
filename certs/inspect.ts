/**
 * Reads stored certificates back and decides what to do with them: reuse them until their renewal
 * time, reissue the serving certificate from the same CA, or replace everything. The decision never
 * throws on bad material: unreadable PEM, a key that does not match, a missing name or an expiry
 * each become the reason of a `replace` or `renew` decision, so one bad Secret never stops a server.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { AgentStackError } from "../src/errors.ts";
import type { CertificateAuthority } from "./generate.ts";

/** What a store (a Secret or a directory) holds. */
export interface StoredCertificates {
  /** `ca.crt`: the issuing CA first, then, during a CA rotation, the previous CA while it is valid. */
  readonly caCert: string;
  /** `ca.key`, the issuing CA's key, when the store keeps it; without it the CA cannot sign renewals. */
  readonly caKey?: string | undefined;
  /** `tls.crt`, the serving certificate. */
  readonly cert: string;
  /** `tls.key`. */
  readonly key: string;
}

export interface InspectOptions {
  /** Names the serving certificate must cover (`servingNames`). */
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly now?: Date;
  /** Renew once this fraction of a certificate's lifetime has passed; default 2/3. */
  readonly renewFraction?: number;
  /** Where the material came from, for reasons: `Secret buildkite/webhook-tls`, `directory /tls`. */
  readonly source?: string;
}

export type Inspection =
  /** Valid: use it until `renewAt`, the earlier renewal time of the serving certificate and the CA. */
  | {
      readonly decision: "reuse";
      readonly renewAt: Date;
      readonly notAfter: Date;
      readonly caNotAfter: Date;
    }
  /** The CA is good but the serving certificate is not (or is due): issue a new one from `ca`. */
  | { readonly decision: "renew"; readonly reason: string; readonly ca: CertificateAuthority }
  /** Nothing can be kept: a new CA and serving certificate. */
  | { readonly decision: "replace"; readonly reason: string };

export const DEFAULT_RENEW_FRACTION = 2 / 3;

export function inspectCertificates(stored: StoredCertificates, options: InspectOptions): Inspection {
  const now = options.now ?? new Date();
  const fraction = checkedFraction(options.renewFraction ?? DEFAULT_RENEW_FRACTION);
  const where = (file: string) => (options.source === undefined ? file : `${options.source} ${file}`);

  let ca: X509Certificate;
  try {
    ca = issuingCa(stored.caCert, where("ca.crt"));
  } catch (error) {
    return { decision: "replace", reason: messageOf(error) };
  }
  const caProblem = timeProblem(ca, now, where("ca.crt"));
  if (caProblem !== undefined) return { decision: "replace", reason: caProblem };
  const caRenewAt = renewalTime(ca, fraction);
  if (now >= caRenewAt) {
    return {
      decision: "replace",
      reason: `${where("ca.crt")}: the CA is due for renewal since ${caRenewAt.toISOString()} (expires ${ca.validToDate.toISOString()})`,
    };
  }
  const caKeyProblem =
    stored.caKey === undefined
      ? `${where("ca.key")}: missing`
      : keyProblem(ca, stored.caKey, where("ca.key"));
  const renewOrReplace = (reason: string): Inspection =>
    caKeyProblem === undefined && stored.caKey !== undefined
      ? { decision: "renew", reason, ca: { caCert: stored.caCert, caKey: stored.caKey } }
      : { decision: "replace", reason: `${reason}; and the CA cannot sign a new one: ${caKeyProblem}` };

  let serving: X509Certificate;
  try {
    serving = firstCertificate(stored.cert, where("tls.crt"));
  } catch (error) {
    return renewOrReplace(messageOf(error));
  }
  const servingProblem =
    keyProblem(serving, stored.key, where("tls.key")) ??
    issuerProblem(serving, ca, where("tls.crt")) ??
    timeProblem(serving, now, where("tls.crt")) ??
    coverageProblem(serving, options, where("tls.crt"));
  if (servingProblem !== undefined) return renewOrReplace(servingProblem);
  const servingRenewAt = renewalTime(serving, fraction);
  if (now >= servingRenewAt) {
    return renewOrReplace(
      `${where("tls.crt")}: due for renewal since ${servingRenewAt.toISOString()} (expires ${serving.validToDate.toISOString()})`,
    );
  }
  return {
    decision: "reuse",
    renewAt: new Date(Math.min(servingRenewAt.getTime(), caRenewAt.getTime())),
    notAfter: serving.validToDate,
    caNotAfter: ca.validToDate,
  };
}

/**
 * When certificates must be renewed, whatever their state: the earlier of the serving certificate's
 * and the CA's renewal times, and the serving certificate's expiry. For material just issued, which
 * with a very short lifetime may already be due.
 */
export function renewalSchedule(
  stored: StoredCertificates,
  renewFraction = DEFAULT_RENEW_FRACTION,
): { readonly renewAt: Date; readonly notAfter: Date } {
  const serving = firstCertificate(stored.cert, "tls.crt");
  const ca = issuingCa(stored.caCert, "ca.crt");
  const renewAt = Math.min(
    renewalTime(serving, renewFraction).getTime(),
    renewalTime(ca, renewFraction).getTime(),
  );
  return { renewAt: new Date(renewAt), notAfter: serving.validToDate };
}

/** notBefore + fraction × lifetime. */
export function renewalTime(certificate: X509Certificate, fraction = DEFAULT_RENEW_FRACTION): Date {
  const notBefore = certificate.validFromDate.getTime();
  const lifetime = certificate.validToDate.getTime() - notBefore;
  return new Date(notBefore + Math.floor(lifetime * fraction));
}

/**
 * Every certificate of a PEM text, in order. Throws `ASK_CERTS_INVALID_PEM` naming `where` when there
 * is none or one does not parse; the message never quotes the text.
 */
export function parseCertificates(pem: string, where: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) invalidPem(`${where}: no PEM certificate (-----BEGIN CERTIFICATE-----) found`);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      return invalidPem(`${where}: certificate ${index + 1} does not parse: ${messageOf(error)}`, error);
    }
  });
}

/** A PKCS#8 (or SEC1) private key from PEM; throws `ASK_CERTS_INVALID_PEM` naming `where`. */
export function parsePrivateKey(pem: string, where: string): KeyObject {
  if (!/-----BEGIN (EC |)PRIVATE KEY-----/.test(pem)) {
    invalidPem(`${where}: no PEM private key (-----BEGIN PRIVATE KEY-----) found`);
  }
  try {
    return createPrivateKey(pem);
  } catch (error) {
    return invalidPem(`${where}: the private key does not parse: ${messageOf(error)}`, error);
  }
}

/** The first certificate of `ca.crt`, which must be a CA: it is the one `ca.key` belongs to. */
function issuingCa(pem: string, where: string): X509Certificate {
  const ca = firstCertificate(pem, where);
  if (!ca.ca) invalidPem(`${where}: the first certificate is not a CA (basicConstraints CA:TRUE)`);
  return ca;
}

function firstCertificate(pem: string, where: string): X509Certificate {
  return parseCertificates(pem, where)[0] as X509Certificate;
}

function keyProblem(certificate: X509Certificate, keyPem: string, where: string): string | undefined {
  let key: KeyObject;
  try {
    key = parsePrivateKey(keyPem, where);
  } catch (error) {
    return messageOf(error);
  }
  try {
    if (certificate.checkPrivateKey(key)) return undefined;
  } catch {
    // A key of another type than the certificate's throws instead of answering false.
  }
  return `${where}: the private key does not belong to the certificate`;
}

export function issuerProblem(
  serving: X509Certificate,
  ca: X509Certificate,
  where: string,
): string | undefined {
  if (serving.checkIssued(ca) && serving.verify(ca.publicKey)) return undefined;
  return `${where}: not issued and signed by the CA in ca.crt`;
}

export function timeProblem(certificate: X509Certificate, now: Date, where: string): string | undefined {
  if (now < certificate.validFromDate) {
    return `${where}: not valid before ${certificate.validFromDate.toISOString()} (now ${now.toISOString()})`;
  }
  if (now >= certificate.validToDate) return `${where}: expired at ${certificate.validToDate.toISOString()}`;
  return undefined;
}

export function coverageProblem(
  serving: X509Certificate,
  options: InspectOptions,
  where: string,
): string | undefined {
  const missing = [
    ...options.dnsNames.filter((name) => serving.checkHost(name, { subject: "never" }) === undefined),
    ...(options.ipAddresses ?? []).filter((address) => serving.checkIP(address) === undefined),
  ];
  if (missing.length === 0) return undefined;
  return `${where}: does not cover ${missing.map((name) => JSON.stringify(name)).join(", ")}`;
}

function checkedFraction(fraction: number): number {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new AgentStackError(
      "ASK_CERTS_INVALID_OPTIONS",
      `certificates: the renewal fraction ${fraction} is not in (0, 1]`,
    );
  }
  return fraction;
}

function invalidPem(message: string, cause?: unknown): never {
  throw new AgentStackError("ASK_CERTS_INVALID_PEM", message, { cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
