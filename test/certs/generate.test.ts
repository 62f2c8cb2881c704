import { createPrivateKey, X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import { connect, createServer } from "node:tls";
import * as x509 from "@peculiar/x509";
import { describe, expect, test } from "vitest";
import {
  type CertificateBundle,
  generateCertificates,
  issueServingCertificate,
  servingNames,
} from "../../certs/generate.ts";
import { isAgentStackError } from "../../src/errors.ts";

const NOW = new Date("2026-03-01T12:00:00Z");
const DAY_MS = 24 * 60 * 60 * 1000;

const bundle = await generateCertificates({
  serviceName: "agent-stack-k8s-webhook",
  namespace: "buildkite",
  dnsNames: ["localhost"],
  ipAddresses: ["127.0.0.1", "::1"],
  now: NOW,
});
const ca = new X509Certificate(bundle.caCert);
const serving = new X509Certificate(bundle.cert);

describe("a generated bundle", () => {
  test("has a self-signed CA that may only sign certificates", () => {
    expect(ca.ca).toBe(true);
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    const parsed = new x509.X509Certificate(bundle.caCert);
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
    expect(constraints?.ca).toBe(true);
    expect(constraints?.critical).toBe(true);
    const usages = parsed.getExtension(x509.KeyUsagesExtension);
    expect(usages?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(usages?.critical).toBe(true);
    expect(ca.publicKey.asymmetricKeyType).toBe("ec");
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  });

  test("has a serving certificate issued and signed by the CA, not itself a CA", () => {
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    const parsed = new x509.X509Certificate(bundle.cert);
    expect(parsed.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    const authorityKeyId = parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    const caKeyId = new x509.X509Certificate(bundle.caCert).getExtension(
      x509.SubjectKeyIdentifierExtension,
    )?.keyId;
    expect(authorityKeyId).toBeDefined();
    expect(authorityKeyId).toBe(caKeyId);
  });

  test("covers the Service's four DNS names and the extra names and addresses", () => {
    for (const host of [
      "agent-stack-k8s-webhook",
      "agent-stack-k8s-webhook.buildkite",
      "agent-stack-k8s-webhook.buildkite.svc",
      "agent-stack-k8s-webhook.buildkite.svc.cluster.local",
      "localhost",
    ]) {
      expect(serving.checkHost(host, { subject: "never" }), host).toBe(host);
    }
    expect(serving.checkHost("other.buildkite.svc", { subject: "never" })).toBeUndefined();
    expect(serving.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(serving.checkIP("::1")).toBe("::1");
    expect(serving.checkIP("10.0.0.1")).toBeUndefined();
  });

  test("keys are PKCS#8 PEM and match their certificates", () => {
    expect(bundle.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(bundle.caKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(serving.checkPrivateKey(createPrivateKey(bundle.key))).toBe(true);
    expect(ca.checkPrivateKey(createPrivateKey(bundle.caKey))).toBe(true);
  });

  test("lifetimes default to 10 years for the CA and 1 year for the serving certificate", () => {
    const caDays = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / DAY_MS;
    const servingDays = (Date.parse(serving.validTo) - Date.parse(serving.validFrom)) / DAY_MS;
    expect(caDays).toBe(3650);
    expect(servingDays).toBe(365);
    expect(bundle.notBefore.getTime()).toBe(Date.parse(serving.validFrom));
    expect(bundle.notAfter.getTime()).toBe(Date.parse(serving.validTo));
  });

  test("starts 5 minutes before now so that a lagging clock accepts it", () => {
    expect(bundle.notBefore.toISOString()).toBe("2026-03-01T11:55:00.000Z");
  });

  test("a TLS client that trusts only the CA completes a handshake for the Service name", async () => {
    const servername = "agent-stack-k8s-webhook.buildkite.svc";
    await expect(handshake(bundle, { servername })).resolves.toBe("authorized");
  });

  test("a TLS client refuses the certificate for a name it does not cover", async () => {
    await expect(handshake(bundle, { servername: "other.buildkite.svc" })).rejects.toThrow(/altnames/i);
  });

  test("a TLS client that trusts another CA refuses the certificate", async () => {
    const other = await generateCertificates({ serviceName: "x", namespace: "y" });
    await expect(
      handshake(bundle, { servername: "agent-stack-k8s-webhook.buildkite.svc", ca: other.caCert }),
    ).rejects.toThrow(/certificate/i);
  });
});

describe("issuing from an existing CA", () => {
  test("keeps the CA and makes a new serving key", async () => {
    const first = await generateCertificates({ serviceName: "hook", namespace: "ns", now: NOW });
    const renewed = await issueServingCertificate(first, {
      serviceName: "hook",
      namespace: "ns",
      now: new Date(NOW.getTime() + 300 * DAY_MS),
    });
    expect(renewed.caCert).toBe(first.caCert);
    expect(renewed.key).not.toBe(first.key);
    expect(new X509Certificate(renewed.cert).verify(new X509Certificate(first.caCert).publicKey)).toBe(true);
  });

  test("never outlives the CA", async () => {
    const bundle = await generateCertificates({
      serviceName: "hook",
      namespace: "ns",
      validity: { caDays: 30, servingDays: 365 },
      now: NOW,
    });
    expect(bundle.notAfter.getTime()).toBe(Date.parse(new X509Certificate(bundle.caCert).validTo));
  });

  test("short lifetimes keep their length: the backdate is at most 1% of the lifetime", async () => {
    const bundle = await generateCertificates({
      serviceName: "hook",
      namespace: "ns",
      validity: { servingDays: 100 / 86_400 },
      now: NOW,
    });
    expect(bundle.notBefore.toISOString()).toBe("2026-03-01T11:59:59.000Z");
    expect(bundle.notAfter.getTime() - bundle.notBefore.getTime()).toBe(100_000);
  });
});

describe("bad options", () => {
  test.each([
    [{ serviceName: "Hook_1", namespace: "ns" }, 'service name "Hook_1" is not a DNS label'],
    [{ serviceName: "hook", namespace: "" }, 'namespace "" is not a DNS label'],
    [{ serviceName: "hook", namespace: "ns", dnsNames: ["bad name"] }, 'DNS name "bad name" is not a valid'],
    [{ serviceName: "hook", namespace: "ns", ipAddresses: ["300.1.1.1"] }, 'IP address "300.1.1.1" is not'],
  ])("%j is refused, naming the value", (options, message) => {
    expect(() => servingNames(options)).toThrow(message);
  });

  test("a lifetime that is not a positive number is refused with ASK_CERTS_INVALID_OPTIONS", async () => {
    const error = await generateCertificates({
      serviceName: "hook",
      namespace: "ns",
      validity: { servingDays: 0 },
    }).catch((caught: unknown) => caught);
    expect(isAgentStackError(error, "ASK_CERTS_INVALID_OPTIONS")).toBe(true);
    expect((error as Error).message).toContain("validity.servingDays 0 is not a positive number of days");
  });

  test("extra names are lower-cased and duplicates of the Service names dropped", () => {
    expect(
      servingNames({ serviceName: "hook", namespace: "ns", dnsNames: ["HOOK.ns.svc", "LocalHost"] }).dnsNames,
    ).toEqual(["hook", "hook.ns", "hook.ns.svc", "hook.ns.svc.cluster.local", "localhost"]);
  });
});

/** One TLS handshake against a server using the bundle; resolves "authorized" or rejects with why not. */
async function handshake(
  bundle: CertificateBundle,
  options: { readonly servername: string; readonly ca?: string },
): Promise<string> {
  const server = createServer({ cert: bundle.cert, key: bundle.key }, (socket) => socket.end("ok"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<string>((resolve, reject) => {
      const socket = connect({
        host: "127.0.0.1",
        port,
        servername: options.servername,
        ca: options.ca ?? bundle.caCert,
      });
      socket.once("secureConnect", () => {
        const authorized = socket.authorized;
        socket.end();
        if (authorized) resolve("authorized");
        else reject(socket.authorizationError);
      });
      socket.once("error", reject);
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
