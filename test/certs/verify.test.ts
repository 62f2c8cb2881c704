import { expect, test } from "vitest";
import { generateCertificateAuthority, generateCertificates } from "../../certs/generate.ts";
import { verifyServingCertificate } from "../../certs/verify.ts";

const SERVER = "hook.buildkite.svc";

test("a serving certificate its CA signed, valid and naming the Service, verifies", async () => {
  const bundle = await generateCertificates({ serviceName: "hook", namespace: "buildkite" });
  const result = verifyServingCertificate({
    caBundle: bundle.caCert,
    servingChain: bundle.cert,
    serverName: SERVER,
  });
  expect(result).toMatchObject({ verified: true, problems: [] });
  expect(result.serving?.subjectAltNames).toContain(`DNS:${SERVER}`);
  expect(result.signedBy?.subject).toBe(result.serving?.issuer);
  expect(result.serving?.sha256Fingerprint).toMatch(/^[0-9A-F:]{95}$/);
});

test("a bundle of another CA, a certificate for another Service, or an expired one does not verify, and says why", async () => {
  const bundle = await generateCertificates({ serviceName: "hook", namespace: "buildkite" });
  const other = await generateCertificateAuthority();
  const foreign = verifyServingCertificate({
    caBundle: other.caCert,
    servingChain: bundle.cert,
    serverName: SERVER,
    bundleSource: "caBundle of MutatingWebhookConfiguration hook",
    servingSource: "Secret buildkite/hook-tls tls.crt",
  });
  expect(foreign.verified).toBe(false);
  expect(foreign.problems).toEqual([
    expect.stringMatching(
      /^Secret buildkite\/hook-tls tls\.crt: not signed by any CA of the caBundle of MutatingWebhookConfiguration hook \(it was issued by .+; the bundle holds .+\)$/,
    ),
  ]);
  // During a CA rotation the bundle holds both CAs: either one signing is enough.
  const rotated = verifyServingCertificate({
    caBundle: `${other.caCert}${bundle.caCert}`,
    servingChain: bundle.cert,
    serverName: SERVER,
  });
  expect(rotated.verified).toBe(true);
  const wrongName = verifyServingCertificate({
    caBundle: bundle.caCert,
    servingChain: bundle.cert,
    serverName: "other.buildkite.svc",
  });
  expect(wrongName.problems).toEqual(['tls.crt: does not cover "other.buildkite.svc"']);
  const later = verifyServingCertificate({
    caBundle: bundle.caCert,
    servingChain: bundle.cert,
    serverName: SERVER,
    now: new Date(bundle.notAfter.getTime() + 1000),
  });
  expect(later.problems).toEqual([`tls.crt: expired at ${bundle.notAfter.toISOString()}`]);
});

test("material that is not PEM is a problem, never a throw and never quoted", () => {
  const result = verifyServingCertificate({
    caBundle: "secret-looking garbage",
    servingChain: "x",
    serverName: SERVER,
  });
  expect(result.verified).toBe(false);
  expect(result.problems).toEqual(["caBundle: no PEM certificate (-----BEGIN CERTIFICATE-----) found"]);
  expect(JSON.stringify(result)).not.toContain("garbage");
});
