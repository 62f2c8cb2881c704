/**
 * The stack's configuration: the chart's ConfigMap (the one the Deployments mount as `config`), its
 * `config.yaml` loaded exactly as the launcher loads it (with the literal environment variables of the
 * launcher container, `controllerEnv`), and shown the way the launcher logs it (`loggableConfig`):
 * defaults filled in, secret keys redacted. The ConfigMap itself is kept too, its secret keys and
 * secret env values redacted, comments and layout untouched.
 */
import type { V1ConfigMap, V1Container } from "@kubernetes/client-node";
import { isMap, isScalar, isSeq, parseDocument, stringify, visit } from "yaml";
import { loadConfig, type ValueKeyName } from "../src/config/load.ts";
import { loggableConfig } from "../src/config/loggable.ts";
import { ConfigError, describeSource } from "../src/config/problems.ts";
import { CONFIG_KEYS, type KeySpec } from "../src/config/schema.ts";
import { type DiagnoseContext, needs, type Part, type PartOutcome } from "./part.ts";
import { REDACTED, type Redactor } from "./redaction.ts";
import { podSpecOf } from "./stack.ts";

const CONFIG_KEY = "config.yaml";
const CONFIG_VOLUME = "config";
/** Where the chart mounts it; only a name here, the text comes from the ConfigMap. */
const CONFIG_PATH = "/etc/agent-stack-k8s/config.yaml";
const SECRET_KEYS = new Set(
  (CONFIG_KEYS as readonly KeySpec[]).filter((spec) => spec.secret).map((spec) => spec.key),
);

export const configurationPart: Part = {
  name: "configuration",
  async run(context: DiagnoseContext): Promise<PartOutcome> {
    const stack = needs(context.found.stack, "the stack's Deployments");
    const name = stack.deployments
      .flatMap((found) => found.deployment.spec?.template?.spec?.volumes ?? [])
      .find((volume) => volume.name === CONFIG_VOLUME)?.configMap?.name;
    if (name === undefined) {
      return {
        status: "problem",
        summary: `the stack's Deployments mount no ConfigMap as volume "${CONFIG_VOLUME}"`,
      };
    }
    const { namespace } = context.options;
    const configMap = await context.cluster.getConfigMap(namespace, name);
    const where = `ConfigMap ${namespace}/${name}`;
    const text = configMap.data?.[CONFIG_KEY];
    if (text === undefined) {
      await context.writeObjects("config/configmap.yaml", [configMap]);
      return { status: "problem", summary: `${where} has no key ${CONFIG_KEY}` };
    }
    const env = literalEnv(podSpecOf(context, "launcher")?.containers);
    let loaded: ReturnType<typeof loadConfig> | ConfigError;
    try {
      loaded = loadConfig({ args: [], env: { ...env, CONFIG: CONFIG_PATH }, readFile: () => text });
      // Its own redaction patterns apply to the ConfigMap's env values too.
      context.redactor.addPatterns(loaded.config.additionalRedactedVars);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      loaded = error;
    }
    const redacted = redactConfigFile(text, context.redactor);
    await context.writeObjects("config/configmap.yaml", [withConfigFile(configMap, redacted.text)]);
    if (redacted.error !== undefined) {
      return { status: "problem", summary: `${where}: ${CONFIG_KEY} is not valid YAML: ${redacted.error}` };
    }
    if (loaded instanceof ConfigError) {
      return {
        status: "problem",
        summary: `${where}: the configuration does not load (the launcher and webhook would not start)`,
        details: loaded.problems.map((problem) => problem.message),
      };
    }
    const { config, sources } = loaded;
    context.found.config = config;
    const shown = loggableConfig(config);
    for (const key of SECRET_KEYS) {
      if (sources[key as ValueKeyName]?.kind === "default")
        shown[key] =
          "(not in the ConfigMap: the launcher takes it from its Secret, which diagnose does not read)";
    }
    // Without the key, the launcher picks its job source by BUILDKITE_TOKEN, which may be in its Secret.
    if (sources["job-source"]?.kind === "default" && sources["buildkite-token"]?.kind === "default") {
      shown["job-source"] =
        "(empty: graphql if the launcher's Secret has BUILDKITE_TOKEN, otherwise stacks; the launcher's first log line says which)";
    }
    const fromEnv = Object.entries(sources)
      .filter(([, source]) => source.kind === "env")
      .map(([key, source]) => `${key} (${describeSource(source)})`);
    const header = [
      `# The configuration of the stack, as the launcher loads and logs it: ${where} (key ${CONFIG_KEY})`,
      ...(fromEnv.length > 0 ? [`# and the launcher container's environment: ${fromEnv.join(", ")}`] : []),
      "# with every default filled in. Secret values are shown as [redacted]. Keys the launcher takes from",
      "# its Secret's environment (BUILDKITE_TOKEN; any key of agentStackSecret) are not known here.",
    ];
    await context.write(
      "config/effective.yaml",
      `${header.join("\n")}\n${stringify(context.redactor.object(shown), { lineWidth: 0 })}`,
    );
    const fromFile = Object.values(sources).filter((source) => source.kind === "file").length;
    return {
      status: "ok",
      summary: `${where}: loads; ${fromFile} keys set there${fromEnv.length > 0 ? `, ${fromEnv.length} from the launcher's env` : ""}; id ${JSON.stringify(config.id)}`,
    };
  },
};

/** The container's env vars with a literal value (not `valueFrom`), as the launcher would see them. */
function literalEnv(containers: readonly V1Container[] | undefined): Record<string, string> {
  const container = containers?.find((candidate) => candidate.name === "launcher") ?? containers?.[0];
  return Object.fromEntries(
    (container?.env ?? []).flatMap((variable) =>
      variable.value === undefined ? [] : [[variable.name, variable.value]],
    ),
  );
}

function withConfigFile(configMap: V1ConfigMap, text: string): V1ConfigMap {
  return { ...configMap, data: { ...configMap.data, [CONFIG_KEY]: text } };
}

/**
 * `config.yaml` with the values of secret keys and of secret env vars replaced (and remembered, so
 * they are taken out of every other file too), comments and layout kept. Unparsable text is not
 * kept at all: there is no telling where a secret would be in it.
 */
export function redactConfigFile(text: string, redactor: Redactor): { text: string; error?: string } {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    const error = document.errors[0]?.message.split("\n")[0] ?? "unparsable";
    return { text: `${REDACTED} (not valid YAML: ${error})\n`, error };
  }
  const replace = (node: unknown): void => {
    if (isScalar(node) && typeof node.value === "string" && node.value !== "") {
      redactor.remember(node.value);
      node.value = REDACTED;
    }
  };
  if (isMap(document.contents)) {
    for (const pair of document.contents.items) {
      if (isScalar(pair.key) && SECRET_KEYS.has(String(pair.key.value))) replace(pair.value);
    }
  }
  visit(document, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || pair.key.value !== "env" || !isSeq(pair.value)) return;
      for (const item of pair.value.items) {
        if (!isMap(item)) continue;
        const name = item.get("name");
        if (typeof name === "string" && redactor.isSecretName(name)) replace(item.get("value", true));
      }
    },
  });
  return { text: String(document) };
}
