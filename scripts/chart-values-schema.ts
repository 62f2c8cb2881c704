/**
 * The chart's `values.schema.json`, built from the configuration key table so that `helm install`
 * refuses the `config` the stack would refuse (an unknown key, a string for a number, a value that
 * fails a key's rule, an unknown field of a structured key…) before anything starts, and documents
 * every key. Rules across keys are the templates' `fail`s (`_helpers.tpl`). `npm run docs` writes it; a
 * test fails when it is stale.
 */

import { formatDuration } from "../src/config/duration.ts";
import {
  AGENT_CONFIG_DEFINITION,
  CONFIG_DEFINITIONS,
  RESOURCE_CLASS_DEFINITION,
} from "../src/config/file-schemas.ts";
import {
  AGENT_TAG_PATTERN,
  LABEL_VALUE_PATTERN,
  QUALIFIED_NAME_PATTERN,
  STRING_RULE_PATTERNS,
} from "../src/config/rule-patterns.ts";
import { CONFIG_KEYS, type KeySpec } from "../src/config/schema.ts";
import type { StructuredKey } from "../src/config/structured.ts";
import type { FieldType } from "../src/k8s/schema-types.ts";
import { INTERPOSERS } from "../src/params/types.ts";

type Schema = Record<string, unknown>;

const DURATION_BODY = "(0|([0-9]*(\\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+)";
const DURATION_PATTERN = `^[-+]?${DURATION_BODY}$`;
/** A duration that may not be negative. */
const NON_NEGATIVE_DURATION_PATTERN = `^[+]?${DURATION_BODY}$`;
/** Keys the chart sets itself; a value given for them is checked by the templates. */
const CHART_SET = new Set(["namespace", "agent-token-secret", "id"]);

function configKeySchema(spec: KeySpec): Schema {
  const description = CHART_SET.has(spec.key)
    ? `${spec.description} (the chart sets it; see values.yaml)`
    : spec.description;
  const type = spec.type;
  switch (type.kind) {
    case "string":
      return {
        type: "string",
        description,
        default: type.default,
        ...(type.rule === undefined ? {} : STRING_RULE_PATTERNS[type.rule]),
      };
    case "bool":
      return { type: "boolean", description, default: type.default };
    case "int":
      return {
        type: "integer",
        description,
        default: type.default,
        ...(type.min === undefined ? {} : { minimum: type.min }),
        ...(type.max === undefined ? {} : { maximum: type.max }),
      };
    case "port":
      return { type: "integer", description, default: type.default, minimum: 0, maximum: 65535 };
    case "duration":
      return {
        type: "string",
        description,
        default: formatDuration(type.default),
        pattern: type.min !== undefined && type.min >= 0 ? NON_NEGATIVE_DURATION_PATTERN : DURATION_PATTERN,
      };
    case "stringList":
      return {
        type: "array",
        description,
        default: [...type.default],
        items: { type: "string", ...(type.itemRule === "agentTag" ? { pattern: AGENT_TAG_PATTERN } : {}) },
      };
    case "enum":
      return { type: "string", description, default: type.default, enum: [...type.values] };
    case "structured":
      return { ...STRUCTURED[spec.key as StructuredKey], description: `${description} (${type.shape})` };
  }
}

/**
 * The structured keys, from the decoding tables: the fields the stack knows (decoding is strict and
 * case-sensitive, so any other is refused), their JSON types (null is an absent field, as the stack
 * reads it), and the rules the stack checks on them. Kubernetes objects inside (a PodSpec, an
 * EnvFromSource…) are checked by the stack alone; the schema only says they are objects.
 */
const STRUCTURED: Readonly<Record<StructuredKey, Schema>> = {
  "pod-spec-patch": {
    type: "object",
    properties: {
      containers: {
        type: ["array", "null"],
        items: {
          type: ["object", "null"],
          properties: { image: { type: ["string", "null"], ...STRING_RULE_PATTERNS.imageReference } },
        },
      },
    },
  },
  "workspace-volume": namedVolume(),
  "agent-config": withProperties(definitionSchema(AGENT_CONFIG_DEFINITION), {
    "container-start-timeout": { type: ["string", "null"], pattern: NON_NEGATIVE_DURATION_PATTERN },
    "verification-failure-behavior": { enum: ["block", "warn", null] },
  }),
  "default-checkout-params": definitionSchema("buildkite.CheckoutParams"),
  "default-command-params": withProperties(definitionSchema("buildkite.CommandParams"), {
    interposer: { enum: [...INTERPOSERS, null] },
  }),
  "default-sidecar-params": definitionSchema("buildkite.SidecarParams"),
  "default-metadata": withProperties(definitionSchema("buildkite.Metadata"), {
    labels: {
      type: ["object", "null"],
      propertyNames: { pattern: QUALIFIED_NAME_PATTERN },
      additionalProperties: { type: ["string", "null"], pattern: LABEL_VALUE_PATTERN },
    },
    annotations: {
      type: ["object", "null"],
      propertyNames: { pattern: QUALIFIED_NAME_PATTERN },
      additionalProperties: { type: ["string", "null"] },
    },
  }),
  "resource-classes": {
    type: ["object", "null"],
    additionalProperties: definitionSchema(RESOURCE_CLASS_DEFINITION),
  },
};

function definitionSchema(name: string): Schema {
  const definition = CONFIG_DEFINITIONS[name];
  if (definition === undefined)
    return name.endsWith(".Volume") ? namedVolume() : { type: ["object", "null"] };
  const properties: Record<string, Schema> = {};
  for (const [field, type] of Object.entries(definition.fields)) properties[field] = fieldSchema(type);
  return { type: ["object", "null"], additionalProperties: false, properties };
}

function fieldSchema(type: FieldType): Schema {
  switch (type.kind) {
    case "string":
    case "time":
      return { type: ["string", "null"] };
    case "boolean":
      return { type: ["boolean", "null"] };
    case "integer":
      return { type: ["integer", "null"] };
    case "number":
      return { type: ["number", "null"] };
    case "quantity":
      return { type: ["string", "number", "null"], ...STRING_RULE_PATTERNS.cpuLimit };
    case "intOrString":
      return { type: ["integer", "string", "null"] };
    case "any":
      return {};
    case "object":
      return definitionSchema(type.ref);
    case "array":
      return { type: ["array", "null"], items: fieldSchema(type.items) };
    case "map":
      return { type: ["object", "null"], additionalProperties: fieldSchema(type.values) };
  }
}

/** A Volume the stack mounts by name: Kubernetes refuses one without. */
function namedVolume(): Schema {
  return {
    type: ["object", "null"],
    required: ["name"],
    properties: { name: { type: "string", minLength: 1 } },
  };
}

function withProperties(schema: Schema, properties: Record<string, Schema>): Schema {
  return { ...schema, properties: { ...(schema.properties as Record<string, Schema>), ...properties } };
}

function configSchema(): Schema {
  const properties: Record<string, Schema> = {};
  for (const spec of CONFIG_KEYS as readonly KeySpec[]) {
    if (spec.inFile === false) continue;
    properties[spec.key] = configKeySchema(spec);
  }
  // Upstream's schema documented `workspaceVolume`, which its controller never read; accepted here only
  // so that the chart can say what to write instead.
  properties.workspaceVolume = { type: "object", description: "not read: use workspace-volume" };
  return {
    type: "object",
    description:
      "The stack's configuration (upstream key names), written to the ConfigMap as config.yaml. Unknown keys are refused, as the stack refuses them.",
    additionalProperties: false,
    properties,
  };
}

const stringMap: Schema = { type: "object", additionalProperties: { type: "string" } };
const quantity: Schema = { type: ["string", "number"] };
const resources: Schema = {
  type: "object",
  additionalProperties: false,
  properties: {
    requests: { type: "object", additionalProperties: quantity },
    limits: { type: "object", additionalProperties: quantity },
  },
};
const metadata: Schema = {
  type: "object",
  additionalProperties: false,
  properties: { labels: stringMap, annotations: stringMap },
};
const nonNegativeInteger: Schema = { type: "integer", minimum: 0 };
const duration: Schema = { type: "string", pattern: DURATION_PATTERN };
/** Pod labels the chart's selectors own. */
const RESERVED_LABELS = [
  "app",
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/component",
];

export function chartValuesSchema(): Schema {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "agent-stack-k8s chart values",
    type: "object",
    additionalProperties: false,
    properties: {
      agentToken: {
        type: "string",
        description:
          "Buildkite agent token (BUILDKITE_AGENT_TOKEN): all a default install needs (the Stacks API)",
      },
      graphqlToken: {
        type: "string",
        description:
          "Optional: a Buildkite API token with GraphQL scope (BUILDKITE_TOKEN); when set the launcher polls the GraphQL API (job-source graphql), which also needs config.org",
      },
      agentStackSecret: {
        type: "string",
        description:
          "An existing Secret with BUILDKITE_AGENT_TOKEN (and BUILDKITE_TOKEN for the GraphQL API), instead of the tokens",
      },
      image: {
        type: "string",
        description: "Image of the launcher, webhook and certs; empty: the chart's appVersion",
      },
      imagePullPolicy: {
        type: "string",
        enum: ["Always", "IfNotPresent", "Never"],
        description: "Pull policy of the stack's image",
      },
      imagePullSecrets: {
        type: "array",
        description: "Secrets to pull the stack's image with (a list of `name:`)",
        items: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
      },
      nameOverride: { type: "string", description: "Replaces the chart's name in the objects' names" },
      fullnameOverride: {
        type: "string",
        description: "Replaces <release>-agent-stack-k8s, the prefix of the objects' names",
      },
      config: configSchema(),
      labels: {
        ...stringMap,
        description: "Extra pod labels",
        propertyNames: { not: { enum: RESERVED_LABELS } },
      },
      annotations: { ...stringMap, description: "Extra pod annotations" },
      nodeSelector: { ...stringMap, description: "nodeSelector of the stack's pods" },
      tolerations: {
        type: "array",
        description: "Tolerations of the stack's pods",
        items: { type: "object" },
      },
      secretsMetadata: { ...metadata, description: "Extra labels and annotations of the rendered Secret" },
      serviceAccountMetadata: {
        ...metadata,
        description: "Extra labels and annotations of the ServiceAccounts (e.g. a cloud IAM role)",
      },
      controllerEnv: {
        type: "array",
        description: "Extra environment variables of the launcher (Kubernetes EnvVar)",
        items: { type: "object", required: ["name"], properties: { name: { type: "string", minLength: 1 } } },
      },
      resources: { ...resources, description: "The launcher container's resources" },
      launcher: {
        type: "object",
        additionalProperties: false,
        properties: {
          replicas: nonNegativeInteger,
          port: { type: "integer", minimum: 1, maximum: 65535 },
          nodeOptions: { type: "string", description: "NODE_OPTIONS of the launcher" },
          affinity: { type: "object", description: "Affinity of the launcher's pods" },
          priorityClassName: { type: "string", description: "PriorityClass of the launcher's pods" },
        },
      },
      webhook: {
        type: "object",
        additionalProperties: false,
        properties: {
          replicas: { type: "integer", minimum: 1 },
          port: { type: "integer", minimum: 1, maximum: 65535, description: "The webhook's HTTPS port" },
          timeoutSeconds: { type: "integer", minimum: 2, maximum: 30 },
          namespaces: { type: "array", items: { type: "string", minLength: 1 } },
          namespaceSelector: { type: "object" },
          resources: { ...resources, description: "The webhook container's resources" },
          preStopSleepSeconds: nonNegativeInteger,
          podDisruptionBudget: {
            type: "object",
            additionalProperties: false,
            properties: {
              enabled: { type: "boolean", description: "A PodDisruptionBudget for the webhook's pods" },
              maxUnavailable: {
                type: ["integer", "string"],
                description: "Its maxUnavailable (a number or a percentage)",
              },
            },
          },
          affinity: { type: "object", description: "Affinity of the webhook's pods" },
          priorityClassName: { type: "string", description: "PriorityClass of the webhook's pods" },
        },
      },
      certificates: {
        type: "object",
        additionalProperties: false,
        properties: {
          mode: { type: "string", enum: ["selfManaged", "certManager", "provided"] },
          selfManaged: {
            type: "object",
            additionalProperties: false,
            properties: {
              caValidity: { ...duration, description: "Lifetime of the CA it creates" },
              servingValidity: { ...duration, description: "Lifetime of the serving certificates it issues" },
              checkInterval: duration,
              port: { type: "integer", minimum: 1, maximum: 65535 },
              resources: { ...resources, description: "The certs keeper container's resources" },
            },
          },
          certManager: {
            type: "object",
            additionalProperties: false,
            properties: {
              issuerRef: {
                type: "object",
                additionalProperties: false,
                properties: { name: { type: "string" }, kind: { type: "string" }, group: { type: "string" } },
              },
              duration: { ...duration, description: "Lifetime of the Certificate" },
              renewBefore: { ...duration, description: "How long before expiry cert-manager renews it" },
            },
          },
          provided: {
            type: "object",
            additionalProperties: false,
            properties: {
              secretName: {
                type: "string",
                description:
                  "A kubernetes.io/tls Secret of the release namespace for <fullname>-webhook.<namespace>.svc",
              },
              caBundle: { type: "string", pattern: "^([A-Za-z0-9+/=\\s]*)$" },
            },
          },
        },
      },
      monitoring: {
        type: "object",
        additionalProperties: false,
        properties: {
          namespace: {
            type: "string",
            description: "Where the PodMonitor goes; empty: the release namespace",
          },
          deployGrafanaDashboard: {
            type: "boolean",
            description: "A ConfigMap with the stack's Grafana dashboard, for Grafana's dashboard sidecar",
          },
          podMonitor: {
            type: "object",
            additionalProperties: false,
            properties: {
              deploy: { type: "boolean" },
              scrapeInterval: { type: "string" },
            },
          },
        },
      },
    },
  };
}

/** The file's text, as written and as the freshness test compares it. */
export function chartValuesSchemaText(): string {
  return `${JSON.stringify(chartValuesSchema(), null, 2)}\n`;
}
