import { X509Certificate } from "node:crypto";
import { describe, expect, test } from "vitest";
import { generateCertificates, issueServingCertificate, servingNames } from "../../certs/generate.ts";
import {
  type InspectOptions,
  inspectCertificates,
  parseCertificates,
  parsePrivateKey,
} from "../../certs/inspect.ts";
import { renewCertificates } from "../../certs/renew.ts";
import { isAgentStackError } from "../../src/errors.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const T0 = new Date("2026-03-01T12:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY_MS);
const NAMES = servingNames({ serviceName: "hook", namespace: "ns", ipAddresses: ["127.0.0.1"] });
const options = (now: Date, extra: Partial<InspectOptions> = {}): InspectOptions => ({
  ...NAMES,
  now,
  ...extra,
});

const bundle = await generateCertificates({
  serviceName: "hook",
  namespace: "ns",
  ipAddresses: ["127.0.0.1"],
  now: T0,
});
const other = await generateCertificates({ serviceName: "hook", namespace: "ns", now: T0 });

describe("the reuse decision", () => {
  test("a fresh bundle is reused until two thirds of the serving lifetime", () => {
    const inspection = inspectCertificates(bundle, options(at(1)));
    expect(inspection.decision).toBe("reuse");
    const lifetime = bundle.notAfter.getTime() - bundle.notBefore.getTime();
    expect(inspection).toMatchObject({
      renewAt: new Date(bundle.notBefore.getTime() + Math.floor((lifetime * 2) / 3)),
      notAfter: bundle.notAfter,
    });
  });

  test("the renewal fraction is configurable", () => {
    const inspection = inspectCertificates(bundle, options(at(1), { renewFraction: 0.5 }));
    const lifetime = bundle.notAfter.getTime() - bundle.notBefore.getTime();
    expect(inspection).toMatchObject({ renewAt: new Date(bundle.notBefore.getTime() + lifetime / 2) });
  });

  test("past the renewal time the serving certificate is renewed from the same CA", () => {
    const inspection = inspectCertificates(bundle, options(at(250)));
    expect(inspection).toMatchObject({
      decision: "renew",
      ca: { caCert: bundle.caCert, caKey: bundle.caKey },
    });
    expect(inspection.decision === "renew" && inspection.reason).toMatch(/^tls\.crt: due for renewal since /);
  });

  test("an expired serving certificate is renewed", () => {
    expect(inspectCertificates(bundle, options(at(400)))).toMatchObject({
      decision: "renew",
      reason: `tls.crt: expired at ${bundle.notAfter.toISOString()}`,
    });
  });

  test("material that is not valid yet (a clock behind the issuer's) is replaced", () => {
    expect(inspectCertificates(bundle, options(at(-1)))).toMatchObject({
      decision: "replace",
      reason: expect.stringMatching(/^ca\.crt: not valid before /),
    });
  });

  test("a certificate that does not cover a required name is renewed, naming what is missing", () => {
    const inspection = inspectCertificates(
      bundle,
      options(at(1), { dnsNames: [...NAMES.dnsNames, "localhost"], ipAddresses: ["::1"] }),
    );
    expect(inspection).toMatchObject({
      decision: "renew",
      reason: 'tls.crt: does not cover "localhost", "::1"',
    });
  });

  test("a key that does not belong to the certificate is renewed", () => {
    expect(inspectCertificates({ ...bundle, key: other.key }, options(at(1)))).toMatchObject({
      decision: "renew",
      reason: "tls.key: the private key does not belong to the certificate",
    });
  });

  test("a serving certificate of another CA is renewed", () => {
    expect(
      inspectCertificates({ ...bundle, cert: other.cert, key: other.key }, options(at(1))),
    ).toMatchObject({
      decision: "renew",
      reason: "tls.crt: not issued and signed by the CA in ca.crt",
    });
  });

  test("reasons name the store the material came from", () => {
    const inspection = inspectCertificates(
      { ...bundle, cert: "garbage" },
      options(at(1), { source: "Secret ns/hook-tls" }),
    );
    expect(inspection).toMatchObject({
      decision: "renew",
      reason: "Secret ns/hook-tls tls.crt: no PEM certificate (-----BEGIN CERTIFICATE-----) found",
    });
  });

  test("the reuse time is the CA's renewal time when it comes first", async () => {
    const shortCa = await generateCertificates({
      serviceName: "hook",
      namespace: "ns",
      validity: { caDays: 3, servingDays: 2 },
      now: T0,
    });
    const late = await issueServingCertificate(shortCa, {
      serviceName: "hook",
      namespace: "ns",
      validity: { servingDays: 2 },
      now: at(1.9),
    });
    const inspection = inspectCertificates(late, { dnsNames: NAMES.dnsNames, now: at(1.95) });
    const ca = new X509Certificate(shortCa.caCert);
    const caLifetime = ca.validToDate.getTime() - ca.validFromDate.getTime();
    expect(inspection).toMatchObject({
      decision: "reuse",
      renewAt: new Date(ca.validFromDate.getTime() + Math.floor((caLifetime * 2) / 3)),
    });
  });
});

describe("the replace decision", () => {
  test("a CA due for renewal replaces everything", () => {
    const inspection = inspectCertificates(bundle, options(at(2500)));
    expect(inspection).toMatchObject({
      decision: "replace",
      reason: expect.stringMatching(/^ca\.crt: the CA is due for renewal since /),
    });
  });

  test("an unreadable ca.crt replaces everything", () => {
    expect(inspectCertificates({ ...bundle, caCert: "" }, options(at(1)))).toMatchObject({
      decision: "replace",
      reason: "ca.crt: no PEM certificate (-----BEGIN CERTIFICATE-----) found",
    });
  });

  test("a ca.crt whose first certificate is not a CA replaces everything", () => {
    expect(inspectCertificates({ ...bundle, caCert: bundle.cert }, options(at(1)))).toMatchObject({
      decision: "replace",
      reason: "ca.crt: the first certificate is not a CA (basicConstraints CA:TRUE)",
    });
  });

  test("without ca.key a serving certificate due for renewal means a new CA", () => {
    const { caKey: _dropped, ...withoutCaKey } = bundle;
    expect(inspectCertificates(withoutCaKey, options(at(1))).decision).toBe("reuse");
    expect(inspectCertificates(withoutCaKey, options(at(250)))).toMatchObject({
      decision: "replace",
      reason: expect.stringMatching(/; and the CA cannot sign a new one: ca\.key: missing$/),
    });
  });

  test("a ca.key of another CA means a new CA when the serving certificate needs renewing", () => {
    expect(
      inspectCertificates({ ...bundle, caKey: other.caKey, key: other.key }, options(at(1))),
    ).toMatchObject({
      decision: "replace",
      reason:
        "tls.key: the private key does not belong to the certificate; and the CA cannot sign a new one: ca.key: the private key does not belong to the certificate",
    });
  });
});

describe("invalid PEM", () => {
  test("a corrupted certificate block is a clear error, not a crash", () => {
    const corrupted = bundle.cert.replace(/\n[A-Za-z0-9+/]{20}/, "\n!!!!corrupted!!!!!!!");
    const error = (() => {
      try {
        parseCertificates(corrupted, "/tls/tls.crt");
      } catch (caught) {
        return caught;
      }
    })();
    expect(isAgentStackError(error, "ASK_CERTS_INVALID_PEM")).toBe(true);
    expect((error as Error).message).toMatch(/^\/tls\/tls\.crt: certificate 1 does not parse: /);
  });

  test("a private key that is not PEM is refused without quoting it", () => {
    expect(() => parsePrivateKey("secret-material", "tls.key")).toThrow(
      "tls.key: no PEM private key (-----BEGIN PRIVATE KEY-----) found",
    );
    const broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    expect(() => parsePrivateKey(broken, "tls.key")).toThrow(/^tls\.key: the private key does not parse/);
  });

  test("a renewal fraction outside (0, 1] is refused", () => {
    expect(() => inspectCertificates(bundle, options(at(1), { renewFraction: 0 }))).toThrow(
      "the renewal fraction 0 is not in (0, 1]",
    );
  });
});

describe("what is stored next", () => {
  const issue = { serviceName: "hook", namespace: "ns", ipAddresses: ["127.0.0.1"] };

  test("a renewal keeps the CA and its key and issues a serving certificate it signed", async () => {
    const inspection = inspectCertificates(bundle, options(at(250)));
    if (inspection.decision !== "renew") throw new Error(`expected renew, got ${inspection.decision}`);
    const next = await renewCertificates(bundle, inspection, { ...issue, now: at(250) });
    expect(next.action).toBe("renewed");
    expect(next.stored.caCert).toBe(bundle.caCert);
    expect(next.stored.caKey).toBe(bundle.caKey);
    expect(inspectCertificates(next.stored, options(at(251))).decision).toBe("reuse");
  });

  test("a CA rotation keeps trusting the previous CA while it is valid", async () => {
    const inspection = inspectCertificates(bundle, options(at(2500)));
    if (inspection.decision !== "replace") throw new Error(`expected replace, got ${inspection.decision}`);
    const next = await renewCertificates(bundle, inspection, { ...issue, now: at(2500) });
    expect(next.action).toBe("replaced");
    const cas = parseCertificates(next.stored.caCert, "ca.crt");
    expect(cas.map((ca) => ca.fingerprint256)).toEqual([
      expect.any(String),
      new X509Certificate(bundle.caCert).fingerprint256,
    ]);
    expect(new X509Certificate(next.stored.cert).verify(cas[0]!.publicKey)).toBe(true);
    expect(inspectCertificates(next.stored, options(at(2501))).decision).toBe("reuse");
  });

  test("an expired previous CA is dropped from ca.crt at the next renewal", async () => {
    const rotated = await renewCertificates(
      bundle,
      { decision: "replace", reason: "test" },
      { ...issue, now: at(2500) },
    );
    expect(parseCertificates(rotated.stored.caCert, "ca.crt")).toHaveLength(2);
    const later = at(3700);
    const inspection = inspectCertificates(rotated.stored, options(later));
    if (inspection.decision !== "renew") throw new Error(`expected renew, got ${inspection.decision}`);
    const renewed = await renewCertificates(rotated.stored, inspection, { ...issue, now: later });
    expect(parseCertificates(renewed.stored.caCert, "ca.crt")).toHaveLength(1);
  });

  test("nothing stored yet gives a new CA and serving certificate", async () => {
    const created = await renewCertificates(undefined, undefined, { ...issue, now: T0 });
    expect(created.action).toBe("created");
    expect(inspectCertificates(created.stored, options(at(1))).decision).toBe("reuse");
  });
});
