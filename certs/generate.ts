/**
 * Creates the webhook's certificates: a self-signed CA and a serving certificate it signs, for the
 * DNS names kube-apiserver uses to reach the webhook Service. ECDSA P-256 throughout: every TLS
 * stack Kubernetes uses supports it, and its keys and signatures are small and fast to make.
 *
 * Lifetimes: the CA lives 10 years and the serving certificate 1 year by default. Renewal happens at
 * two thirds of either lifetime (`inspect.ts`), and a renewal reuses the CA while it is valid, so the
 * `caBundle` kube-apiserver trusts changes only when the CA itself is rotated.
 */
import type { webcrypto } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";
import { AgentStackError } from "../src/errors.ts";

export interface CertificateBundle {
  /** The CA certificate, PEM. */
  readonly caCert: string;
  /** The CA private key, PKCS#8 PEM. */
  readonly caKey: string;
  /** The serving certificate, PEM. */
  readonly cert: string;
  /** The serving private key, PKCS#8 PEM. */
  readonly key: string;
  /** Validity of the serving certificate. */
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CertificateValidity {
  /** Lifetime of the CA in days (fractions allowed); default 3650. */
  readonly caDays?: number;
  /** Lifetime of the serving certificate in days (fractions allowed); default 365. */
  readonly servingDays?: number;
}

export interface ServingCertificateOptions {
  /** The webhook Service: its DNS names are in every serving certificate. */
  readonly serviceName: string;
  readonly namespace: string;
  /** More DNS names, such as `localhost` for a local run. */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly validity?: CertificateValidity;
  /** The time to issue at; tests move it instead of sleeping. */
  readonly now?: Date;
}

/** A CA that can sign serving certificates: what the Secret keeps between renewals. */
export interface CertificateAuthority {
  /** The CA certificate, PEM: one certificate, the one `caKey` belongs to. */
  readonly caCert: string;
  readonly caKey: string;
}

export const DEFAULT_CA_DAYS = 3650;
export const DEFAULT_SERVING_DAYS = 365;

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * Certificates start a little in the past so that a node whose clock lags kube-apiserver's still
 * accepts them; at most 5 minutes, and never more than 1% of the lifetime so that short test
 * lifetimes keep their shape.
 */
const MAX_BACKDATE_MS = 5 * 60 * 1000;

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const CA_SUBJECT = "CN=agent-stack-k8s webhook CA, O=agent-stack-k8s";

/** A new CA and a serving certificate signed by it. */
export async function generateCertificates(options: ServingCertificateOptions): Promise<CertificateBundle> {
  const now = options.now ?? new Date();
  const ca = await generateCertificateAuthority({ days: options.validity?.caDays, now });
  return issueServingCertificate(ca, { ...options, now });
}

export async function generateCertificateAuthority(
  options: { readonly days?: number | undefined; readonly now?: Date } = {},
): Promise<CertificateAuthority> {
  const days = checkedDays(options.days ?? DEFAULT_CA_DAYS, "validity.caDays");
  const { notBefore, notAfter } = validityWindow(options.now ?? new Date(), days * DAY_MS);
  const keys = await newKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumber(),
      name: CA_SUBJECT,
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { caCert: certificatePem(certificate), caKey: await privateKeyPem(keys.privateKey) };
}

/**
 * A serving certificate signed by `ca`, for the Service's four DNS names plus the extra ones. It never
 * outlives the CA: a certificate valid after its issuer expired would be rejected anyway.
 */
export async function issueServingCertificate(
  ca: CertificateAuthority,
  options: ServingCertificateOptions,
): Promise<CertificateBundle> {
  const names = servingNames(options);
  const days = checkedDays(options.validity?.servingDays ?? DEFAULT_SERVING_DAYS, "validity.servingDays");
  const caCertificate = new x509.X509Certificate(ca.caCert);
  const caPrivateKey = await importPrivateKey(ca.caKey);
  const window = validityWindow(options.now ?? new Date(), days * DAY_MS);
  const notAfter = new Date(Math.min(window.notAfter.getTime(), caCertificate.notAfter.getTime()));
  const notBefore = new Date(Math.max(window.notBefore.getTime(), caCertificate.notBefore.getTime()));
  const keys = await newKeyPair();
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject: `CN=${options.serviceName}.${options.namespace}.svc`,
      issuer: caCertificate.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caPrivateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        // digitalSignature is all an ECDHE-ECDSA handshake uses; keyEncipherment is for RSA key transport.
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(
          [
            ...names.dnsNames.map((value) => ({ type: "dns" as const, value })),
            ...names.ipAddresses.map((value) => ({ type: "ip" as const, value })),
          ],
          false,
        ),
        await x509.AuthorityKeyIdentifierExtension.create(caCertificate.publicKey, false, crypto),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return {
    caCert: ca.caCert,
    caKey: ca.caKey,
    cert: certificatePem(certificate),
    key: await privateKeyPem(keys.privateKey),
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
  };
}

export interface ServingNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/**
 * The names the serving certificate must cover: `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc` and
 * `<svc>.<ns>.svc.cluster.local` (kube-apiserver calls `<svc>.<ns>.svc`; the others serve clients
 * inside the cluster), then the extra names in the order given, without duplicates. Throws
 * `ASK_CERTS_INVALID_OPTIONS` naming the first bad value.
 */
export function servingNames(
  options: Pick<ServingCertificateOptions, "serviceName" | "namespace" | "dnsNames" | "ipAddresses">,
): ServingNames {
  checkDnsLabel(options.serviceName, "service name");
  checkDnsLabel(options.namespace, "namespace");
  for (const name of options.dnsNames ?? []) checkDnsName(name);
  for (const address of options.ipAddresses ?? []) checkIpAddress(address);
  const service = options.serviceName;
  const namespace = options.namespace;
  const dnsNames = [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
    ...(options.dnsNames ?? []).map((name) => name.toLowerCase()),
  ];
  return { dnsNames: [...new Set(dnsNames)], ipAddresses: [...new Set(options.ipAddresses ?? [])] };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function checkDnsLabel(value: string, what: string): void {
  if (!DNS_LABEL.test(value)) {
    invalidOption(
      `${what} ${JSON.stringify(value)} is not a DNS label (lower-case letters, digits and '-', at most 63 characters)`,
    );
  }
}

function checkDnsName(value: string): void {
  const labels = value.toLowerCase().split(".");
  if (value.length > 253 || !labels.every((label) => DNS_LABEL.test(label))) {
    invalidOption(
      `DNS name ${JSON.stringify(value)} is not a valid DNS name (dot-separated labels of letters, digits and '-')`,
    );
  }
}

function checkIpAddress(value: string): void {
  if (isIP(value) === 0) invalidOption(`IP address ${JSON.stringify(value)} is not an IPv4 or IPv6 address`);
}

function checkedDays(days: number, where: string): number {
  if (!Number.isFinite(days) || days <= 0) {
    invalidOption(`${where} ${days} is not a positive number of days`);
  }
  return days;
}

function invalidOption(message: string): never {
  throw new AgentStackError("ASK_CERTS_INVALID_OPTIONS", `certificates: ${message}`);
}

function validityWindow(now: Date, lifetimeMs: number): { notBefore: Date; notAfter: Date } {
  const backdate = Math.min(MAX_BACKDATE_MS, lifetimeMs / 100);
  // X.509 times have whole seconds: round so the certificate says exactly what we computed.
  const notBefore = new Date(Math.floor((now.getTime() - backdate) / 1000) * 1000);
  const notAfter = new Date(Math.floor((notBefore.getTime() + lifetimeMs) / 1000) * 1000);
  return { notBefore, notAfter };
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
}

/** Positive (top bit clear) and 128 bits of randomness, as RFC 5280 and the CA/B forum ask. */
function randomSerialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString("hex");
}

function certificatePem(certificate: x509.X509Certificate): string {
  return `${certificate.toString("pem")}\n`;
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return `${x509.PemConverter.encode(der, "PRIVATE KEY")}\n`;
}

/** The CA key as WebCrypto needs it; the PEM was made by us or read from our own store. */
async function importPrivateKey(pem: string): Promise<webcrypto.CryptoKey> {
  try {
    const [der] = x509.PemConverter.decode(pem);
    if (der === undefined) throw new Error("no PEM block");
    return await crypto.subtle.importKey("pkcs8", der, ALGORITHM, false, ["sign"]);
  } catch (error) {
    throw new AgentStackError(
      "ASK_CERTS_INVALID_PEM",
      `the CA key is not a PKCS#8 ECDSA P-256 private key in PEM: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
