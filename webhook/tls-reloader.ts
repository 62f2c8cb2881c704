/**
 * The serving certificate and key: loaded and checked at startup, then re-read whenever their files
 * change (a Secret update, cert-manager's renewal, `agent-stack-k8s certs`) and swapped into the running
 * TLS server with `setSecureContext`, which only new handshakes use: connections in flight keep theirs.
 * A new pair is swapped in only once it loads; until then the old one stays and the reason is logged.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import type { Logger } from "../runtime/logger.ts";
import { AgentStackError } from "../src/errors.ts";
import type { WebhookMetrics } from "./metrics.ts";
import { type FileWatchOptions, watchFiles } from "./watch-files.ts";

/** TLS 1.0 and 1.1 are refused; kube-apiserver speaks 1.2 and 1.3. */
export const MIN_TLS_VERSION = "TLSv1.2";

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TlsPair {
  /** PEM: the serving certificate, possibly followed by its chain. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  readonly notAfter: Date;
  /** SHA-256 fingerprint of the serving certificate, for logs. */
  readonly fingerprint: string;
}

/** What the TLS server and every swap are given, so a swap keeps the minimum version. */
export function secureContextOptions(pair: Pick<TlsPair, "cert" | "key">): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, minVersion: MIN_TLS_VERSION };
}

/** Reads and checks the pair; throws `ASK_WEBHOOK_TLS_INVALID` saying which file is wrong and why. */
export function loadTlsPair(files: TlsFiles): TlsPair {
  return checkTlsPair(
    files,
    readPem(files.certFile, "--tls-cert-file"),
    readPem(files.keyFile, "--tls-key-file"),
  );
}

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new AgentStackError(
      "ASK_WEBHOOK_TLS_INVALID",
      `${flag} ${path}: cannot read it: ${(error as Error).message}`,
      {
        path,
        cause: error,
      },
    );
  }
}

function checkTlsPair(files: TlsFiles, cert: string, key: string): TlsPair {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new AgentStackError(
      "ASK_WEBHOOK_TLS_INVALID",
      `--tls-cert-file ${files.certFile}: not a PEM certificate: ${(error as Error).message}`,
      { path: files.certFile, cause: error },
    );
  }
  try {
    // The same call the TLS server makes: a key that is not PEM, or that does not belong to the
    // certificate ("key values mismatch"), fails here instead of in a handshake.
    createSecureContext(secureContextOptions({ cert, key }));
  } catch (error) {
    throw new AgentStackError(
      "ASK_WEBHOOK_TLS_INVALID",
      `--tls-key-file ${files.keyFile} with --tls-cert-file ${files.certFile}: the pair does not load: ${(error as Error).message}`,
      { path: files.keyFile, cause: error },
    );
  }
  return { cert, key, notAfter: new Date(certificate.validTo), fingerprint: certificate.fingerprint256 };
}

export interface TlsReloaderOptions {
  readonly files: TlsFiles;
  readonly initial: TlsPair;
  /** Puts a new pair into service (`tls.Server#setSecureContext`). */
  readonly apply: (pair: TlsPair) => void;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  readonly watch?: FileWatchOptions;
  readonly now?: () => Date;
}

export interface TlsReloader {
  current(): TlsPair;
  /** Re-reads the files now; what a file change triggers. */
  check(): void;
  close(): void;
}

export function startTlsReloader(options: TlsReloaderOptions): TlsReloader {
  const { files, logger, metrics } = options;
  const now = options.now ?? (() => new Date());
  let current = options.initial;
  // The contents that last failed: a broken pair is reported once, not at every periodic check.
  let lastFailure: string | undefined;

  const inService = (pair: TlsPair) => {
    metrics.certificateExpiry.set(pair.notAfter.getTime() / 1000);
    if (pair.notAfter <= now()) {
      logger.warn(
        { certFile: files.certFile, notAfter: pair.notAfter.toISOString() },
        "the serving certificate has expired: the API server will refuse it until it is renewed",
      );
    }
  };
  inService(current);

  const check = () => {
    let cert: string;
    let key: string;
    try {
      cert = readFileSync(files.certFile, "utf8");
      key = readFileSync(files.keyFile, "utf8");
    } catch (error) {
      fail(`cannot read the files: ${(error as Error).message}`, `unreadable:${(error as Error).message}`);
      return;
    }
    if (cert === current.cert && key === current.key) return;
    const contents = `${cert}\u0000${key}`;
    if (contents === lastFailure) return;
    try {
      const pair = checkTlsPair(files, cert, key);
      options.apply(pair);
      current = pair;
      lastFailure = undefined;
      metrics.certificateReloads.inc({ result: "success" });
      logger.info(
        { certFile: files.certFile, notAfter: pair.notAfter.toISOString(), fingerprint: pair.fingerprint },
        "certificate reloaded",
      );
      inService(pair);
    } catch (error) {
      fail((error as Error).message, contents);
    }
  };

  const fail = (reason: string, contents: string) => {
    if (contents === lastFailure) return;
    lastFailure = contents;
    metrics.certificateReloads.inc({ result: "error" });
    logger.error(
      { certFile: files.certFile, keyFile: files.keyFile, reason, fingerprint: current.fingerprint },
      "the changed certificate or key does not load: still serving the previous pair",
    );
  };

  const watcher = watchFiles([files.certFile, files.keyFile], check, {
    onWatchError: (directory, error) =>
      logger.warn(
        { directory, reason: error.message },
        "cannot watch the certificate directory: relying on the periodic check",
      ),
    ...options.watch,
  });
  return { current: () => current, check, close: () => watcher.close() };
}
