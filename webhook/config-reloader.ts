/**
 * The `--config` file, re-read when it changes (a ConfigMap update is a symlink swap, see
 * `watch-files.ts`) and loaded exactly as at startup: the same flags and environment keep their
 * precedence over the file. A valid new configuration is applied to the next admission and logged with
 * the keys that changed; an invalid one is logged with every problem, and the previous one stays.
 *
 * An invalid file is loud without failing readiness (that would take every replica out of the Service
 * at once, and they all serve the previous configuration well): every attempt to load it — each change
 * and each periodic check — logs an error, counts in `config_reloads_total{result="error"}`, holds
 * `config_invalid` at 1, and calls `onInvalid` (the webhook writes a Kubernetes Event on its pod).
 *
 * A few keys shape things built once at startup (the PodTemplate informer's namespace, the log format,
 * the metrics port); a change to them is logged and takes effect at the next restart, while the rest of
 * the new configuration applies at once.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "../runtime/logger.ts";
import { VALUE_KEYS } from "../src/config/schema.ts";
import type { Config } from "../src/config/types.ts";
import type { WebhookMetrics } from "./metrics.ts";
import { type FileWatchOptions, watchFiles } from "./watch-files.ts";

/** Keys whose new value waits for a restart, by `Config` property. */
export const RESTART_ONLY: ReadonlySet<keyof Config> = new Set<keyof Config>([
  "namespace",
  "logFormat",
  "noColor",
  "prometheusPort",
  "profilerAddress",
  "k8sClientRateLimiterQps",
  "k8sClientRateLimiterBurst",
]);

export interface LoadedFromText {
  readonly config: Config;
  readonly warnings: readonly string[];
}

export interface ConfigReloaderOptions {
  readonly configFile: string;
  /** The text the running configuration was loaded from. */
  readonly initialText: string;
  readonly initial: Config;
  /** Loads a configuration from a new text of the file, as at startup; throws what `loadConfig` throws. */
  readonly load: (text: string) => LoadedFromText;
  /** Puts a new configuration into service. */
  readonly apply: (config: Config) => void;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  readonly watch?: FileWatchOptions;
  /** Each failed attempt, with the problem as a sentence. */
  readonly onInvalid?: (message: string) => void;
}

export interface ConfigReloader {
  current(): Config;
  /** Re-reads the file now; what a file change triggers. */
  check(): void;
  close(): void;
}

export function startConfigReloader(options: ConfigReloaderOptions): ConfigReloader {
  const { configFile, logger, metrics } = options;
  let current = options.initial;
  let currentText = options.initialText;
  /** The text that last failed, while the file still holds it. */
  let lastFailure: string | undefined;
  metrics.configInvalid.set(0);

  const fail = (reason: string, text: string) => {
    const again = text === lastFailure;
    lastFailure = text;
    metrics.configReloads.inc({ result: "error" });
    metrics.configInvalid.set(1);
    const message = again
      ? "the config file is still not valid: keeping the previous configuration"
      : "the changed config file is not valid: keeping the previous configuration";
    logger.error({ configFile, reason }, message);
    options.onInvalid?.(`${message}: ${reason}`);
  };

  const check = () => {
    let text: string;
    try {
      text = readFileSync(configFile, "utf8");
    } catch (error) {
      fail(`cannot read it: ${(error as Error).message}`, `\u0000unreadable:${(error as Error).message}`);
      return;
    }
    if (text === currentText) {
      if (lastFailure !== undefined) {
        lastFailure = undefined;
        metrics.configInvalid.set(0);
        logger.info({ configFile }, "the config file holds the configuration in use again");
      }
      return;
    }
    let loaded: LoadedFromText;
    try {
      loaded = options.load(text);
    } catch (error) {
      fail((error as Error).message, text);
      return;
    }
    const { config, pending } = keepRestartOnlyKeys(current, loaded.config);
    const changed = changedKeys(current, config);
    options.apply(config);
    current = config;
    currentText = text;
    lastFailure = undefined;
    metrics.configInvalid.set(0);
    metrics.configReloads.inc({ result: "success" });
    for (const warning of loaded.warnings) logger.warn({ configFile }, warning);
    for (const key of pending) {
      logger.warn(
        { configFile, configKey: key },
        `${key} changed: the webhook uses the new value after a restart`,
      );
    }
    logger.info({ configFile, changed }, "config reloaded");
  };

  const watcher = watchFiles([configFile], check, {
    onWatchError: (directory, error) =>
      logger.warn(
        { directory, reason: error.message },
        "cannot watch the config directory: relying on the periodic check",
      ),
    ...options.watch,
  });
  return { current: () => current, check, close: () => watcher.close() };
}

function keepRestartOnlyKeys(running: Config, next: Config): { config: Config; pending: string[] } {
  const config: Record<string, unknown> = { ...next };
  const pending: string[] = [];
  for (const spec of VALUE_KEYS) {
    const property = spec.property;
    if (property === null || !RESTART_ONLY.has(property)) continue;
    if (!sameValue(running[property], next[property])) {
      pending.push(spec.key);
      config[property] = running[property];
    }
  }
  return { config: Object.freeze(config) as unknown as Config, pending };
}

/** The upstream key names whose value differs; values are not logged, a few keys are secrets. */
function changedKeys(before: Config, after: Config): string[] {
  return VALUE_KEYS.filter(
    (spec) => spec.property !== null && !sameValue(before[spec.property], after[spec.property]),
  ).map((spec) => spec.key);
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
