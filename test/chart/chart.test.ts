import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { chartValuesSchemaText } from "../../scripts/chart-values-schema.ts";
import { runHelm } from "../../scripts/helm.ts";
import { loadConfig } from "../../src/config/load.ts";
import {
  type Permission,
  type PermissionNames,
  STACK_COMPONENTS,
  stackPermissions,
} from "../../src/k8s/permissions.ts";
import { dns1123LabelErrors } from "../support/k8s-names.ts";
import { definitionForKind } from "../support/k8s-openapi.ts";
import { validateK8sObject } from "../support/k8s-validate.ts";
import {
  allows,
  grantedRules,
  type Request,
  rulesOf,
  type Subject,
  serviceAccountSubject,
} from "../support/rbac.ts";
import {
  CHART,
  HELM,
  type K8sObject,
  NAMESPACE,
  objectsOfKind,
  oneOf,
  RELEASE,
  renderChart,
  renderNotes,
  renderObjects,
  SKIP_REASON,
} from "./render.ts";

const VALUES_FILES = readdirSync(join(CHART, "ci"))
  .filter((name) => name.endsWith("-values.yaml"))
  .map((name) => `ci/${name}`)
  .sort();
const DEFAULTS = "ci/default-values.yaml";
const FULLNAME = `${RELEASE}-agent-stack-k8s`;
/** Custom resources the chart may render; everything else must be in the Kubernetes OpenAPI document. */
const CUSTOM_KINDS = new Set([
  "cert-manager.io/v1 Issuer",
  "cert-manager.io/v1 Certificate",
  "monitoring.coreos.com/v1 PodMonitor",
]);

type Container = {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
  envFrom?: { secretRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet: { path: string; port: string; scheme?: string } };
  livenessProbe?: { httpGet: { path: string; port: string; scheme?: string } };
};
type PodSpec = {
  serviceAccountName: string;
  containers: Container[];
  initContainers?: Container[];
  volumes: {
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string };
    emptyDir?: unknown;
  }[];
  securityContext?: Record<string, unknown>;
};

function podSpec(deployment: K8sObject): PodSpec {
  return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
}
function podLabels(deployment: K8sObject): Record<string, string> {
  return (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata
    .labels;
}
function allContainers(deployment: K8sObject): Container[] {
  const spec = podSpec(deployment);
  return [...(spec.initContainers ?? []), ...spec.containers];
}
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}
function webhookOf(objects: readonly K8sObject[]): Record<string, unknown> & { name: string } {
  const configuration = oneOf(objects, "MutatingWebhookConfiguration");
  const webhooks = configuration.webhooks as (Record<string, unknown> & { name: string })[];
  expect(webhooks).toHaveLength(1);
  return webhooks[0] as Record<string, unknown> & { name: string };
}
/** The stack's config.yaml (the other ConfigMap a release may have is the Grafana dashboard). */
function configFile(objects: readonly K8sObject[]): string {
  const files = objectsOfKind(objects, "ConfigMap").flatMap(
    (object) => (object.data as Record<string, string> | undefined)?.["config.yaml"] ?? [],
  );
  expect(files).toHaveLength(1);
  return files[0] as string;
}

describe.skipIf(HELM === undefined)(`the Helm chart${SKIP_REASON}`, () => {
  const rendered = new Map<string, readonly K8sObject[]>();
  const objects = (file: string) => rendered.get(file) ?? [];

  beforeAll(() => {
    for (const file of VALUES_FILES) rendered.set(file, renderObjects({ valuesFiles: [file] }));
  }, 60_000);

  it("has values files for the cases that matter", () => {
    expect(VALUES_FILES).toEqual(
      expect.arrayContaining([
        DEFAULTS,
        "ci/graphql-values.yaml",
        "ci/cert-manager-values.yaml",
        "ci/provided-values.yaml",
        "ci/existing-secret-values.yaml",
      ]),
    );
  });

  it.each(VALUES_FILES)("passes helm lint --strict with %s", (file) => {
    const result = runHelm(HELM as string, [
      "lint",
      "--strict",
      CHART,
      "--namespace",
      NAMESPACE,
      "--values",
      join(CHART, file),
    ]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it.each(VALUES_FILES)("renders only objects Kubernetes accepts, with %s", (file) => {
    for (const object of objects(file)) {
      const where = `${object.kind} ${object.metadata.name}`;
      const definition = definitionForKind(object.apiVersion, object.kind);
      if (definition === undefined) {
        expect(
          CUSTOM_KINDS.has(`${object.apiVersion} ${object.kind}`),
          `${where}: unknown kind ${object.apiVersion}`,
        ).toBe(true);
        continue;
      }
      const problems = validateK8sObject(object, definition);
      expect(problems, `${where} would be rejected:\n  ${problems.join("\n  ")}`).toEqual([]);
      expect(dns1123LabelErrors(object.metadata.name), `${where}: name`).toEqual([]);
      if (
        object.kind !== "ClusterRole" &&
        object.kind !== "ClusterRoleBinding" &&
        object.kind !== "MutatingWebhookConfiguration"
      ) {
        expect(object.metadata.namespace, `${where}: namespace`).toBe(NAMESPACE);
      }
    }
  });

  it.each(VALUES_FILES)("prints NOTES.txt naming what was installed, with %s", (file) => {
    const notes = renderNotes([file]);
    for (const deployment of objectsOfKind(objects(file), "Deployment"))
      expect(notes).toContain(deployment.metadata.name);
    expect(notes).toContain(oneOf(objects(file), "MutatingWebhookConfiguration").metadata.name);
  });

  it("renders the same objects twice (no random names or values)", () => {
    expect(renderObjects({ valuesFiles: [DEFAULTS] })).toEqual(objects(DEFAULTS));
  });

  describe("the MutatingWebhookConfiguration", () => {
    it("expands labelled batch/v1 Jobs on CREATE, safely", () => {
      const webhook = webhookOf(objects(DEFAULTS));
      expect(webhook.rules).toEqual([
        {
          apiGroups: ["batch"],
          apiVersions: ["v1"],
          resources: ["jobs"],
          operations: ["CREATE"],
          scope: "Namespaced",
        },
      ]);
      expect(webhook.objectSelector).toEqual({ matchLabels: { "buildkite.com/expand": "true" } });
      expect(webhook.failurePolicy).toBe("Fail");
      expect(webhook.sideEffects).toBe("None");
      expect(webhook.reinvocationPolicy).toBe("IfNeeded");
      expect(webhook.timeoutSeconds).toBe(10);
      expect(webhook.admissionReviewVersions).toEqual(["v1"]);
    });

    it("limits itself to the release namespace by default, or to the namespaces listed", () => {
      expect(webhookOf(objects(DEFAULTS)).namespaceSelector).toEqual({
        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [NAMESPACE] }],
      });
      expect(webhookOf(objects("ci/cert-manager-values.yaml")).namespaceSelector).toEqual({
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "In", values: ["buildkite", "ci-jobs"] },
        ],
      });
      expect(webhookOf(objects("ci/provided-values.yaml")).namespaceSelector).toEqual({
        matchLabels: { "buildkite.com/jobs": "true" },
      });
    });

    it("always includes the release namespace, where the launcher creates its Jobs", () => {
      const selector = (namespaces: string[]) =>
        webhookOf(renderObjects({ valuesFiles: [DEFAULTS], values: { webhook: { namespaces } } }))
          .namespaceSelector;
      expect(selector(["ci-jobs"])).toEqual({
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "In", values: [NAMESPACE, "ci-jobs"] },
        ],
      });
      expect(selector(["ci-jobs", NAMESPACE])).toEqual({
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "In", values: [NAMESPACE, "ci-jobs"] },
        ],
      });
      expect(renderNotes([DEFAULTS])).not.toContain("WARNING");
    });

    it("refuses a namespaceSelector of the user's own that evidently leaves the release namespace out", () => {
      const refusal = /webhook\.namespaceSelector leaves out the release namespace "buildkite"/;
      for (const namespaceSelector of [
        { matchLabels: { "kubernetes.io/metadata.name": "ci-jobs" } },
        { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["ci-jobs"] }] },
        {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: [NAMESPACE] }],
        },
        { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "DoesNotExist" }] },
      ]) {
        const rendered = renderChart({ valuesFiles: [DEFAULTS], values: { webhook: { namespaceSelector } } });
        expect(rendered.ok, JSON.stringify(namespaceSelector)).toBe(false);
        if (!rendered.ok) expect(rendered.error).toMatch(refusal);
      }
    });

    it("warns in NOTES.txt that a namespaceSelector of the user's own must select the release namespace", () => {
      const notes = renderNotes(["ci/provided-values.yaml"]);
      expect(notes).toContain(
        "WARNING: webhook.namespaceSelector is your own. It must select the release namespace buildkite",
      );
      expect(notes).toContain("kubectl get namespace buildkite --show-labels");
    });

    it("takes timeoutSeconds from values, and the server answers within it", () => {
      const rendered = objects("ci/provided-values.yaml");
      expect(webhookOf(rendered).timeoutSeconds).toBe(5);
      const server = podSpec(oneOf(rendered, "Deployment", `${FULLNAME}-webhook`)).containers.find(
        (container) => container.name === "webhook",
      );
      expect(server?.args).toContain("--request-timeout=4s");
    });

    it.each(VALUES_FILES)("calls the webhook Service on a port it serves, with %s", (file) => {
      const rendered = objects(file);
      const service = (
        webhookOf(rendered).clientConfig as {
          service: { name: string; namespace: string; port: number; path: string };
        }
      ).service;
      expect(service.namespace).toBe(NAMESPACE);
      expect(service.path).toBe("/mutate");
      const target = oneOf(rendered, "Service", service.name);
      const port = (target.spec as { ports: { port: number; targetPort: string }[] }).ports.find(
        (p) => p.port === service.port,
      );
      expect(port, "the Service has the port the configuration names").toBeDefined();
      const selector = (target.spec as { selector: Record<string, string> }).selector;
      const backends = objectsOfKind(rendered, "Deployment").filter((deployment) =>
        selects(selector, podLabels(deployment)),
      );
      expect(backends.map((deployment) => deployment.metadata.name)).toEqual([`${service.name}`]);
      const served = podSpec(backends[0] as K8sObject).containers.flatMap(
        (container) => container.ports ?? [],
      );
      expect(served.map((p) => p.name)).toContain(port?.targetPort);
    });

    it("gets its caBundle from the certificate mode", () => {
      const selfManaged = objects(DEFAULTS);
      const certs = podSpec(oneOf(selfManaged, "Deployment", `${FULLNAME}-certs`)).containers[0];
      const configurationName = oneOf(selfManaged, "MutatingWebhookConfiguration").metadata.name;
      expect(certs?.args).toContain(`--webhook-configuration=${configurationName}`);
      expect(webhookOf(selfManaged).clientConfig).not.toHaveProperty("caBundle");

      const certManager = objects("ci/cert-manager-values.yaml");
      const certificate = oneOf(certManager, "Certificate");
      expect(oneOf(certManager, "MutatingWebhookConfiguration").metadata.annotations).toEqual({
        "cert-manager.io/inject-ca-from": `${NAMESPACE}/${certificate.metadata.name}`,
      });
      const dnsNames = (certificate.spec as { dnsNames: string[] }).dnsNames;
      expect(dnsNames).toContain(`${FULLNAME}-webhook.${NAMESPACE}.svc`);

      const provided = objects("ci/provided-values.yaml");
      expect((webhookOf(provided).clientConfig as { caBundle: string }).caBundle).toMatch(/^LS0t/);
    });
  });

  describe("RBAC", () => {
    /** The service account the component's pods run as. */
    const subjectOf = (rendered: readonly K8sObject[], component: string): Subject => {
      const deployment = objectsOfKind(rendered, "Deployment").find(
        (object) => podLabels(object)["app.kubernetes.io/component"] === component,
      );
      if (deployment === undefined) throw new Error(`no ${component} Deployment`);
      return serviceAccountSubject(NAMESPACE, podSpec(deployment).serviceAccountName);
    };
    /** The names the rendered chart gives what components may only touch by name. */
    const permissionNamesOf = (rendered: readonly K8sObject[]): PermissionNames => ({
      agentTokenSecret: (parse(configFile(rendered)) as Record<string, string>)[
        "agent-token-secret"
      ] as string,
      tlsSecret:
        podSpec(
          objectsOfKind(rendered, "Deployment").find(
            (deployment) => podLabels(deployment)["app.kubernetes.io/component"] === "webhook",
          ) as K8sObject,
        ).volumes.find((volume) => volume.name === "tls")?.secret?.secretName ?? "",
      webhookConfiguration: oneOf(rendered, "MutatingWebhookConfiguration").metadata.name,
    });
    const permissionKey = (permission: Permission): string =>
      `${permission.verb} ${permission.group}/${permission.resource} ${permission.name ?? "*"} in ${permission.namespaced ? NAMESPACE : "the cluster"}`;
    const requestOf = (permission: Permission): Request => ({
      verb: permission.verb,
      group: permission.group,
      resource: permission.resource,
      ...(permission.name === undefined ? {} : { name: permission.name }),
      ...(permission.namespaced ? { namespace: NAMESPACE } : {}),
    });
    /** Every (verb, resource, name, namespace) the RBAC objects grant `subject`, as `permissionKey` writes them. */
    const grantsOf = (rendered: readonly K8sObject[], subject: Subject): Set<string> =>
      new Set(
        grantedRules(rendered, subject).flatMap(({ rule, namespace }) =>
          (rule.apiGroups ?? []).flatMap((group) =>
            (rule.resources ?? []).flatMap((resource) =>
              rule.verbs.flatMap((verb) =>
                (rule.resourceNames?.length ? rule.resourceNames : [undefined]).map((name) =>
                  permissionKey({
                    verb,
                    group,
                    resource,
                    ...(name === undefined ? {} : { name }),
                    namespaced: namespace !== undefined,
                    why: "",
                  }),
                ),
              ),
            ),
          ),
        ),
      );

    it.each(VALUES_FILES)("has no wildcard and no cluster-wide secret access, with %s", (file) => {
      const roles = objects(file).filter((object) => object.kind === "Role" || object.kind === "ClusterRole");
      expect(roles.length).toBeGreaterThan(0);
      for (const role of roles) {
        for (const rule of rulesOf(role)) {
          const values = [
            ...(rule.apiGroups ?? []),
            ...(rule.resources ?? []),
            ...rule.verbs,
            ...(rule.resourceNames ?? []),
          ];
          expect(
            values.filter((value) => value.includes("*")),
            `${role.kind} ${role.metadata.name}`,
          ).toEqual([]);
          if (role.kind === "ClusterRole") {
            expect(rule.resources, `${role.metadata.name} is cluster-wide`).toEqual([
              "mutatingwebhookconfigurations",
            ]);
            expect(rule.resourceNames).toEqual([
              oneOf(objects(file), "MutatingWebhookConfiguration").metadata.name,
            ]);
          }
          if (
            rule.resources?.includes("secrets") &&
            !(rule.verbs.length === 1 && rule.verbs[0] === "create")
          ) {
            expect(rule.resourceNames?.length, `${role.metadata.name}: secrets only by name`).toBeGreaterThan(
              0,
            );
          }
        }
      }
      for (const binding of objectsOfKind(objects(file), "ClusterRoleBinding")) {
        expect((binding.roleRef as { kind: string }).kind).toBe("ClusterRole");
      }
    });

    it.each(VALUES_FILES)(
      "grants each component exactly the permissions src/k8s/permissions.ts lists, with %s",
      (file) => {
        const rendered = objects(file);
        const names = permissionNamesOf(rendered);
        const components = STACK_COMPONENTS.filter((component) =>
          objectsOfKind(rendered, "Deployment").some(
            (deployment) => podLabels(deployment)["app.kubernetes.io/component"] === component,
          ),
        );
        for (const component of components) {
          const granted = grantsOf(rendered, subjectOf(rendered, component));
          const listed = stackPermissions(component, names).map(permissionKey);
          expect([...granted].sort(), component).toEqual([...new Set(listed)].sort());
        }
      },
    );

    it.each(VALUES_FILES)("lets the launcher make every call it makes, and no more, with %s", (file) => {
      const rendered = objects(file);
      const launcher = subjectOf(rendered, "launcher");
      const ns = NAMESPACE;
      const needed = stackPermissions("launcher", permissionNamesOf(rendered)).map(requestOf);
      for (const request of needed)
        expect(allows(rendered, launcher, request), JSON.stringify(request)).toBe(true);
      const refused = [
        { verb: "get", group: "", resource: "secrets", name: "someone-elses", namespace: ns },
        { verb: "list", group: "", resource: "secrets", namespace: ns },
        { verb: "create", group: "batch", resource: "jobs", namespace: "default" },
        { verb: "delete", group: "", resource: "pods", namespace: ns },
        { verb: "create", group: "", resource: "pods", namespace: ns },
        { verb: "update", group: "batch", resource: "jobs", namespace: ns },
        { verb: "patch", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations" },
      ];
      for (const request of refused)
        expect(allows(rendered, launcher, request), JSON.stringify(request)).toBe(false);
    });

    it("lets the webhook read PodTemplates and write Events, and nothing else", () => {
      for (const file of VALUES_FILES) {
        const rendered = objects(file);
        const webhook = subjectOf(rendered, "webhook");
        const may = (request: Request) => allows(rendered, webhook, request);
        for (const request of stackPermissions("webhook", permissionNamesOf(rendered)).map(requestOf))
          expect(may(request), JSON.stringify(request)).toBe(true);
        // A Warning Event on its own pod when its reloaded configuration is invalid, in its namespace only.
        expect(may({ verb: "create", group: "", resource: "events", namespace: "default" })).toBe(false);
        expect(may({ verb: "delete", group: "", resource: "events", namespace: NAMESPACE })).toBe(false);
        expect(may({ verb: "create", group: "batch", resource: "jobs", namespace: NAMESPACE })).toBe(false);
        expect(may({ verb: "create", group: "", resource: "secrets", namespace: NAMESPACE })).toBe(false);
        expect(
          may({
            verb: "get",
            group: "",
            resource: "secrets",
            name: `${FULLNAME}-webhook-tls`,
            namespace: NAMESPACE,
          }),
        ).toBe(false);
        const configuration = oneOf(rendered, "MutatingWebhookConfiguration").metadata.name;
        expect(
          may({
            verb: "patch",
            group: "admissionregistration.k8s.io",
            resource: "mutatingwebhookconfigurations",
            name: configuration,
          }),
        ).toBe(false);
      }
    });

    it("lets the certs keeper (selfManaged only) keep its Secret and this release's caBundle, and nothing else", () => {
      const rendered = objects(DEFAULTS);
      const certs = subjectOf(rendered, "certs");
      const may = (request: Request) => allows(rendered, certs, request);
      const tlsSecret = `${FULLNAME}-webhook-tls`;
      for (const verb of ["get", "update"]) {
        expect(may({ verb, group: "", resource: "secrets", name: tlsSecret, namespace: NAMESPACE })).toBe(
          true,
        );
        expect(
          may({ verb, group: "", resource: "secrets", name: `${FULLNAME}-secrets`, namespace: NAMESPACE }),
        ).toBe(false);
      }
      expect(may({ verb: "create", group: "", resource: "secrets", namespace: NAMESPACE })).toBe(true);
      expect(may({ verb: "list", group: "", resource: "secrets", namespace: NAMESPACE })).toBe(false);
      expect(may({ verb: "create", group: "", resource: "secrets", namespace: "kube-system" })).toBe(false);
      expect(may({ verb: "list", group: "", resource: "podtemplates", namespace: NAMESPACE })).toBe(false);
      const configuration = oneOf(rendered, "MutatingWebhookConfiguration").metadata.name;
      // list and watch by name (a metadata.name field selector): it follows the configuration.
      for (const verb of ["get", "patch", "list", "watch"]) {
        const request = {
          verb,
          group: "admissionregistration.k8s.io",
          resource: "mutatingwebhookconfigurations",
        };
        expect(may({ ...request, name: configuration })).toBe(true);
        expect(may({ ...request, name: "another-webhook" })).toBe(false);
      }
      expect(
        may({
          verb: "list",
          group: "admissionregistration.k8s.io",
          resource: "mutatingwebhookconfigurations",
        }),
      ).toBe(false);
      for (const file of ["ci/cert-manager-values.yaml", "ci/provided-values.yaml"]) {
        expect(objectsOfKind(objects(file), "ClusterRole")).toEqual([]);
        expect(
          objectsOfKind(objects(file), "ServiceAccount").map((account) => account.metadata.name),
        ).not.toContain(`${FULLNAME}-certs`);
      }
    });
  });

  describe("the configuration file", () => {
    it.each(VALUES_FILES)("is one both the launcher and the webhook accept, with %s", (file) => {
      const rendered = objects(file);
      const text = configFile(rendered);
      const env = { CONFIG: "/etc/agent-stack-k8s/config.yaml", BUILDKITE_TOKEN: "token", ORG: "my-org" };
      for (const subcommand of ["launcher", "webhook"]) {
        const loaded = loadConfig({ args: [], env, subcommand, readFile: () => text });
        expect(loaded.config.namespace).toBe(NAMESPACE);
      }
    });

    it("names the Secret that is rendered or given, this stack's id, and keeps the values' keys", () => {
      const config = parse(configFile(objects(DEFAULTS))) as Record<string, unknown>;
      expect(config).toEqual({
        namespace: NAMESPACE,
        "agent-token-secret": `${FULLNAME}-secrets`,
        id: FULLNAME,
        tags: ["queue=kubernetes"],
        "prometheus-port": 9216,
        "pod-pending-timeout": "15m",
        "enable-completion-watcher": true,
        "reservation-expiry-seconds": 900,
      });
      expect(parse(configFile(objects("ci/graphql-values.yaml")))).toMatchObject({ org: "my-org" });
      oneOf(objects(DEFAULTS), "Secret", `${FULLNAME}-secrets`);
      const existing = objects("ci/existing-secret-values.yaml");
      expect(parse(configFile(existing))).toMatchObject({
        "agent-token-secret": "buildkite-secrets",
        "max-in-flight": 50,
      });
      expect(objectsOfKind(existing, "Secret")).toEqual([]);
      expect(parse(configFile(objects("ci/monitoring-values.yaml")))).toMatchObject({ id: "stack-a" });
    });

    it("stores the tokens in upstream's Secret format; BUILDKITE_TOKEN only when graphqlToken is set", () => {
      const decoded = (file: string) =>
        Object.fromEntries(
          Object.entries(oneOf(objects(file), "Secret").data as Record<string, string>).map(
            ([key, value]) => [key, Buffer.from(value, "base64").toString()],
          ),
        );
      expect(decoded(DEFAULTS)).toEqual({ BUILDKITE_AGENT_TOKEN: "agent-token-for-tests" });
      expect(decoded("ci/graphql-values.yaml")).toEqual({
        BUILDKITE_AGENT_TOKEN: "agent-token-for-tests",
        BUILDKITE_TOKEN: "graphql-token-for-tests",
      });
    });

    it.each([
      [DEFAULTS, "stacks"],
      ["ci/graphql-values.yaml", "graphql"],
    ])(
      "is read by the launcher, with the Secret's keys in its environment, as %s says: job-source %s",
      (file, source) => {
        const secret = oneOf(objects(file), "Secret").data as Record<string, string>;
        const env: Record<string, string> = { CONFIG: "/etc/agent-stack-k8s/config.yaml" };
        for (const [key, value] of Object.entries(secret)) env[key] = Buffer.from(value, "base64").toString();
        const text = configFile(objects(file));
        const loaded = loadConfig({ args: [], env, subcommand: "launcher", readFile: () => text });
        expect(loaded.config.jobSource).toBe(source);
      },
    );

    it("says in NOTES.txt which job source the install uses, and why", () => {
      expect(renderNotes([DEFAULTS])).toContain(
        "Job source: Buildkite's Stacks API, with the agent token alone (job-source stacks: graphqlToken is not set).",
      );
      expect(renderNotes(["ci/graphql-values.yaml"])).toContain(
        "Job source: Buildkite's GraphQL API, with graphqlToken and config.org (job-source graphql: graphqlToken is set).\n  With config.cluster-uuid empty it polls the agent token's cluster",
      );
      expect(renderNotes(["ci/existing-secret-values.yaml"])).toContain(
        "Job source: decided at start: the GraphQL API if the launcher's environment has BUILDKITE_TOKEN\n  (the Secret buildkite-secrets), otherwise the Stacks API with the agent token alone.",
      );
    });
  });

  describe("the Deployments", () => {
    it.each(VALUES_FILES)("refer only to objects that exist, with %s", (file) => {
      const rendered = objects(file);
      const config = parse(configFile(rendered)) as Record<string, string>;
      for (const deployment of objectsOfKind(rendered, "Deployment")) {
        const spec = podSpec(deployment);
        oneOf(rendered, "ServiceAccount", spec.serviceAccountName);
        for (const volume of spec.volumes) {
          if (volume.configMap) oneOf(rendered, "ConfigMap", volume.configMap.name);
        }
        for (const container of allContainers(deployment)) {
          for (const source of container.envFrom ?? []) {
            if (source.secretRef) expect(source.secretRef.name).toBe(config["agent-token-secret"]);
          }
          const mounts = new Set((container.volumeMounts ?? []).map((mount) => mount.name));
          for (const mount of mounts) expect(spec.volumes.map((volume) => volume.name)).toContain(mount);
          expect(container.env).toContainEqual({ name: "CONFIG", value: "/etc/agent-stack-k8s/config.yaml" });
        }
        const selector = (deployment.spec as { selector: { matchLabels: Record<string, string> } }).selector
          .matchLabels;
        expect(selects(selector, podLabels(deployment))).toBe(true);
      }
    });

    it.each(VALUES_FILES)(
      "run every container non-root, read-only, without capabilities, with %s",
      (file) => {
        for (const deployment of objectsOfKind(objects(file), "Deployment")) {
          expect(podSpec(deployment).securityContext).toMatchObject({
            runAsNonRoot: true,
            seccompProfile: { type: "RuntimeDefault" },
          });
          for (const container of allContainers(deployment)) {
            expect(container.securityContext, `${deployment.metadata.name}/${container.name}`).toEqual({
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              runAsNonRoot: true,
              capabilities: { drop: ["ALL"] },
              seccompProfile: { type: "RuntimeDefault" },
            });
          }
        }
      },
    );

    it("probe the health and readiness endpoints on the ports the processes serve", () => {
      const rendered = objects(DEFAULTS);
      const launcher = podSpec(oneOf(rendered, "Deployment", `${FULLNAME}-launcher`))
        .containers[0] as Container;
      expect(launcher.args).toEqual(["launcher", "--port", "8080"]);
      expect(launcher.ports).toContainEqual({ name: "http", containerPort: 8080, protocol: "TCP" });
      expect(launcher.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
      expect(launcher.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
      const webhook = podSpec(oneOf(rendered, "Deployment", `${FULLNAME}-webhook`)).containers.find(
        (c) => c.name === "webhook",
      ) as Container;
      expect(webhook.args).toContain("--port=8443");
      expect(webhook.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "https", scheme: "HTTPS" });
      const certs = podSpec(oneOf(rendered, "Deployment", `${FULLNAME}-certs`)).containers[0] as Container;
      expect(certs.args).toContain("--port=8080");
      expect(certs.ports).toContainEqual({ name: "http", containerPort: 8080, protocol: "TCP" });
      expect(certs.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
      expect(certs.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    });

    it("tell the webhook which pod it is, for the Events it writes about itself", () => {
      const webhook = podSpec(oneOf(objects(DEFAULTS), "Deployment", `${FULLNAME}-webhook`)).containers.find(
        (c) => c.name === "webhook",
      ) as Container;
      const fields = Object.fromEntries(
        (webhook.env ?? [])
          .filter((entry) => entry.valueFrom)
          .map((entry) => [entry.name, entry.valueFrom?.fieldRef.fieldPath]),
      );
      expect(fields).toEqual({
        POD_NAME: "metadata.name",
        POD_NAMESPACE: "metadata.namespace",
        POD_UID: "metadata.uid",
      });
    });

    it("run two spread webhook replicas behind a PodDisruptionBudget, and one launcher", () => {
      const rendered = objects(DEFAULTS);
      const webhook = oneOf(rendered, "Deployment", `${FULLNAME}-webhook`);
      const spec = webhook.spec as {
        replicas: number;
        template: { spec: { affinity: Record<string, unknown> } };
      };
      expect(spec.replicas).toBe(2);
      expect(spec.template.spec.affinity).toHaveProperty("podAntiAffinity");
      const budget = oneOf(rendered, "PodDisruptionBudget");
      expect(budget.spec).toMatchObject({ maxUnavailable: 1 });
      expect(
        selects(
          (budget.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
          podLabels(webhook),
        ),
      ).toBe(true);
      expect(
        selects(
          (budget.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
          podLabels(oneOf(rendered, "Deployment", `${FULLNAME}-launcher`)),
        ),
      ).toBe(false);
      expect(
        (oneOf(rendered, "Deployment", `${FULLNAME}-launcher`).spec as { replicas: number }).replicas,
      ).toBe(1);
    });

    it("mount only the serving pair of the TLS Secret in the webhook, which one certs Deployment keeps in selfManaged mode", () => {
      const tlsVolume = (file: string) =>
        podSpec(oneOf(objects(file), "Deployment", `${FULLNAME}-webhook`)).volumes.find(
          (volume) => volume.name === "tls",
        );
      const pair = [
        { key: "tls.crt", path: "tls.crt" },
        { key: "tls.key", path: "tls.key" },
      ];
      expect(tlsVolume(DEFAULTS)).toEqual({
        name: "tls",
        secret: { secretName: `${FULLNAME}-webhook-tls`, items: pair },
      });
      expect(tlsVolume("ci/provided-values.yaml")).toEqual({
        name: "tls",
        secret: { secretName: "my-webhook-tls", items: pair },
      });
      const certManager = objects("ci/cert-manager-values.yaml");
      expect(tlsVolume("ci/cert-manager-values.yaml")?.secret?.secretName).toBe(
        (oneOf(certManager, "Certificate").spec as { secretName: string }).secretName,
      );
      // No init container: nothing in the webhook's pods needs more than the Secret.
      for (const file of VALUES_FILES) {
        for (const deployment of objectsOfKind(objects(file), "Deployment")) {
          expect(podSpec(deployment).initContainers, deployment.metadata.name).toBeUndefined();
        }
      }

      const keeper = oneOf(objects(DEFAULTS), "Deployment", `${FULLNAME}-certs`);
      expect((keeper.spec as { replicas: number }).replicas).toBe(1);
      const args = podSpec(keeper).containers[0]?.args;
      expect(args?.[0]).toBe("certs");
      expect(args).toEqual(
        expect.arrayContaining([
          `--secret=${FULLNAME}-webhook-tls`,
          `--service=${FULLNAME}-webhook`,
          "--watch",
        ]),
      );
      expect(args?.some((arg) => arg.startsWith("--out-dir"))).toBe(false);
      for (const file of ["ci/cert-manager-values.yaml", "ci/provided-values.yaml"]) {
        expect(
          objectsOfKind(objects(file), "Deployment").map((deployment) => deployment.metadata.name),
        ).not.toContain(`${FULLNAME}-certs`);
      }
    });

    it("use the chart's appVersion as the default image, or the image given", () => {
      const version = (
        JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
          version: string;
        }
      ).version;
      for (const deployment of objectsOfKind(objects(DEFAULTS), "Deployment")) {
        for (const container of allContainers(deployment)) {
          expect(container.image).toBe(`ghcr.io/agent-stack-k8s/agent-stack-k8s:${version}`);
        }
      }
      for (const deployment of objectsOfKind(objects("ci/existing-secret-values.yaml"), "Deployment")) {
        for (const container of allContainers(deployment))
          expect(container.image).toBe("registry.example.com/agent-stack-k8s:1.2.3");
      }
    });

    it("restart the launcher when its configuration changes", () => {
      const annotationsOf = (objects: readonly K8sObject[]) =>
        (
          oneOf(objects, "Deployment", `${FULLNAME}-launcher`).spec as {
            template: { metadata: { annotations: Record<string, string> } };
          }
        ).template.metadata.annotations;
      const before = annotationsOf(objects(DEFAULTS));
      const after = annotationsOf(
        renderObjects({ valuesFiles: [DEFAULTS], values: { config: { "max-in-flight": 3 } } }),
      );
      expect(after["checksum/config"]).not.toBe(before["checksum/config"]);
      expect(after["checksum/secrets"]).toBe(before["checksum/secrets"]);
    });
  });

  it("gives two releases whose long names share their first 63 characters different names", () => {
    const namesIn = (release: string, namespace: string) =>
      renderObjects({ valuesFiles: [DEFAULTS], release, namespace }).map(
        (object) => `${object.kind}/${object.metadata.name}`,
      );
    const clusterScoped = (names: string[]) =>
      names.filter((name) => /^(ClusterRole|ClusterRoleBinding|MutatingWebhookConfiguration)\//.test(name));
    // One release name in two namespaces: the cluster-scoped objects must not collide.
    const a = namesIn("buildkite-agents", "ci-runners-production-europe-west1-a");
    const b = namesIn("buildkite-agents", "ci-runners-production-europe-west1-b");
    expect(clusterScoped(a)).toHaveLength(3);
    for (const name of clusterScoped(a)) expect(clusterScoped(b)).not.toContain(name);
    // Two release names of 53 characters (Helm's longest) that differ only at the end.
    const long = "buildkite-agents-for-the-platform-team-in-production";
    const first = namesIn(`${long}a`, NAMESPACE);
    const second = namesIn(`${long}b`, NAMESPACE);
    for (const name of first) {
      expect(name.length - name.indexOf("/") - 1, name).toBeLessThanOrEqual(63);
      expect(second).not.toContain(name);
    }
    // A name that fits is kept as it is.
    expect(namesIn(RELEASE, NAMESPACE)).toContain(`Deployment/${FULLNAME}-webhook`);
  });

  it("keeps every name a valid DNS label with a long fullname", () => {
    const rendered = objects("ci/monitoring-values.yaml");
    for (const object of rendered)
      expect(dns1123LabelErrors(object.metadata.name), object.metadata.name).toEqual([]);
    expect(new Set(rendered.map((object) => `${object.kind}/${object.metadata.name}`)).size).toBe(
      rendered.length,
    );
    oneOf(rendered, "PodMonitor");
  });

  describe("refuses bad values with a message that says what to do", () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["no tokens", { config: { org: "my-org" } }, /agentToken must be set/],
      [
        "job-source graphql without a GraphQL token",
        { agentToken: "a", config: { org: "my-org", "job-source": "graphql" } },
        /config\.job-source is graphql, so the launcher uses the GraphQL API, which needs graphqlToken \(a Buildkite API token with GraphQL scope\) or agentStackSecret with BUILDKITE_TOKEN/,
      ],
      [
        "a Secret and tokens",
        { agentStackSecret: "s", agentToken: "a", config: { org: "x" } },
        /either agentStackSecret \(an existing Secret\) or agentToken \(and graphqlToken\), not both/,
      ],
      [
        "a GraphQL token without an organization",
        { agentToken: "a", graphqlToken: "b" },
        /graphqlToken is set, so the launcher uses the GraphQL API, which needs config\.org \(the slug of your Buildkite organization, or ORG in agentStackSecret\)/,
      ],
      [
        "job-source graphql without an organization",
        { agentToken: "a", graphqlToken: "b", config: { "job-source": "graphql" } },
        /config\.job-source is graphql, so the launcher uses the GraphQL API, which needs config\.org/,
      ],
      [
        "an unknown config key",
        { agentToken: "a", graphqlToken: "b", config: { org: "x", "max-in-flite": 3 } },
        /config: Additional property max-in-flite is not allowed/,
      ],
      [
        "a config value of the wrong type",
        { agentToken: "a", graphqlToken: "b", config: { org: "x", "max-in-flight": "5" } },
        /config\.max-in-flight: Invalid type\. Expected: integer/,
      ],
      [
        "a bad duration",
        { agentToken: "a", graphqlToken: "b", config: { org: "x", "poll-interval": "5 seconds" } },
        /config\.poll-interval: Does not match pattern/,
      ],
      [
        "another namespace",
        { agentToken: "a", graphqlToken: "b", config: { org: "x", namespace: "other" } },
        /config\.namespace is "other", but .* release namespace "buildkite"/,
      ],
      [
        "the GraphQL token in the ConfigMap",
        { agentToken: "a", graphqlToken: "b", config: { org: "x", "buildkite-token": "t" } },
        /set graphqlToken \(or agentStackSecret\) instead/,
      ],
      [
        "provided without a Secret",
        { agentToken: "a", graphqlToken: "b", config: { org: "x" }, certificates: { mode: "provided" } },
        /certificates\.provided\.secretName is required/,
      ],
      [
        "provided without a caBundle",
        {
          agentToken: "a",
          graphqlToken: "b",
          config: { org: "x" },
          certificates: { mode: "provided", provided: { secretName: "s" } },
        },
        /certificates\.provided\.caBundle is required/,
      ],
      [
        "an unknown certificate mode",
        { agentToken: "a", graphqlToken: "b", config: { org: "x" }, certificates: { mode: "vault" } },
        /certificates\.mode: .*must be one of/,
      ],
      [
        "a PodMonitor without a metrics port",
        {
          agentToken: "a",
          graphqlToken: "b",
          config: { org: "x", "prometheus-port": 0 },
          monitoring: { podMonitor: { deploy: true } },
        },
        /needs config\.prometheus-port/,
      ],
      [
        "a reserved pod label",
        { agentToken: "a", graphqlToken: "b", config: { org: "x" }, labels: { app: "mine" } },
        /labels/,
      ],
      [
        "no webhook replica",
        { agentToken: "a", graphqlToken: "b", config: { org: "x" }, webhook: { replicas: 0 } },
        /webhook\.replicas: Must be greater than or equal to 1/,
      ],
      [
        "a failurePolicy other than Fail",
        { agentToken: "a", graphqlToken: "b", config: { org: "x" }, webhook: { failurePolicy: "Ignore" } },
        /webhook: Additional property failurePolicy is not allowed/,
      ],
      [
        "upstream's workspaceVolume",
        {
          agentToken: "a",
          graphqlToken: "b",
          config: { org: "x", workspaceVolume: { name: "workspace", emptyDir: {} } },
        },
        /rename it to workspace-volume/,
      ],
      [
        "a fullname a Service cannot be named after",
        { agentToken: "a", graphqlToken: "b", config: { org: "x" }, fullnameOverride: "1st-stack" },
        /a Service name must start with a letter/,
      ],
      [
        "a timeout kube-apiserver refuses",
        { agentToken: "a", graphqlToken: "b", config: { org: "x" }, webhook: { timeoutSeconds: 31 } },
        /webhook\.timeoutSeconds: Must be less than or equal to 30/,
      ],
    ];
    it.each(cases)("%s", (_name, values, message) => {
      const rendered = renderChart({ values });
      expect(rendered.ok).toBe(false);
      if (!rendered.ok) expect(rendered.error).toMatch(message);
    });
  });

  /**
   * Values the stack refuses at startup must not install pods that crash-loop: for each, helm refuses
   * it too (the values schema, or a template's `fail` across keys), and so does the stack's own loader
   * for the subcommand named; the valid neighbours pass both.
   */
  describe("refuses every configuration the stack refuses, before anything starts", () => {
    const base = { agentToken: "a", graphqlToken: "b" };
    const refused: [string, Record<string, unknown>, "launcher" | "webhook", RegExp][] = [
      ["a job-prefix over 27 characters", { "job-prefix": `${"j".repeat(27)}-` }, "webhook", /job-prefix/],
      [
        "an id that is not a label value",
        { id: "Not Valid!" },
        "webhook",
        /config\.id: Does not match pattern/,
      ],
      ["an invalid image", { image: "Not Valid!" }, "webhook", /config\.image: Does not match pattern/],
      ["an image digest of the wrong length", { image: "alpine@sha256:abc" }, "webhook", /config\.image/],
      [
        "a cpu limit that is not a quantity",
        { "image-check-container-cpu-limit": "2 cores" },
        "webhook",
        /cpu-limit/,
      ],
      ["a negative duration", { "job-ttl": "-5m" }, "webhook", /config\.job-ttl: Does not match pattern/],
      [
        "an agent tag that gives no label",
        { tags: ["queue=kubernetes", "os=Not Valid"] },
        "launcher",
        /config\.tags\.1/,
      ],
      [
        "a default-metadata label key that is not a qualified name",
        { "default-metadata": { labels: { "bad key!": "x" } } },
        "webhook",
        /default-metadata\.labels/,
      ],
      [
        "a default-metadata label value that is not a label value",
        { "default-metadata": { labels: { team: "Not Valid!" } } },
        "webhook",
        /default-metadata\.labels\.team/,
      ],
      [
        "an unknown field of a structured key",
        { "default-checkout-params": { cloneFlag: "--depth=1" } },
        "webhook",
        /default-checkout-params: Additional property cloneFlag is not allowed/,
      ],
      [
        "an interposer that does not exist",
        { "default-command-params": { interposer: "bash" } },
        "webhook",
        /default-command-params\.interposer/,
      ],
      [
        "a workspace volume without a name",
        { "workspace-volume": { emptyDir: {} } },
        "webhook",
        /workspace-volume: name is required/,
      ],
      [
        "a pod-spec-patch container image that is not valid",
        { "pod-spec-patch": { containers: [{ name: "x", image: "UPPER:case" }] } },
        "webhook",
        /pod-spec-patch\.containers\.0\.image/,
      ],
      [
        "default-resource-class-name without resource-classes",
        { "default-resource-class-name": "large" },
        "webhook",
        /config\.default-resource-class-name is "large" but config\.resource-classes defines no class/,
      ],
      [
        "default-resource-class-name not among resource-classes",
        {
          "default-resource-class-name": "large",
          "resource-classes": { small: { nodeSelector: { a: "b" } } },
        },
        "webhook",
        /"large" is not one of config\.resource-classes \(small\)/,
      ],
      [
        "a pod-spec-patch that changes a command without the flag that allows it",
        { "pod-spec-patch": { containers: [{ name: "agent", command: ["sh"] }] } },
        "webhook",
        /config\.pod-spec-patch\.containers\[0\] changes command or args/,
      ],
      ["tags without a queue and no queue key", { tags: ["os=linux"] }, "launcher", /no queue=<name> tag/],
      ["a tag key twice", { tags: ["queue=a", "queue=b"] }, "launcher", /has the tag "queue" twice/],
    ];
    it.each(refused)("%s", (_name, config, subcommand, message) => {
      const rendered = renderChart({ values: { ...base, config: { org: "my-org", ...config } } });
      expect(rendered.ok, "helm accepted it").toBe(false);
      if (!rendered.ok) expect(rendered.error).toMatch(message);
      const env = { BUILDKITE_TOKEN: "t", ORG: "my-org" };
      expect(() =>
        loadConfig({ args: ["--config", "c.yaml"], env, subcommand, readFile: () => JSON.stringify(config) }),
      ).toThrow();
    });

    const accepted: [string, Record<string, unknown>][] = [
      ["a job-prefix of 27 characters", { "job-prefix": `${"j".repeat(26)}-` }],
      ["a digest-pinned image", { image: `ghcr.io/buildkite/agent:3@sha256:${"a".repeat(64)}` }],
      [
        "a label key with a prefix",
        { "default-metadata": { labels: { "example.com/team": "ci" }, annotations: { "a/b": "any text!" } } },
      ],
      [
        "a resource class that exists",
        {
          "default-resource-class-name": "small",
          "resource-classes": { small: { nodeSelector: { a: "b" } } },
        },
      ],
      [
        "a command change that is allowed",
        {
          "pod-spec-patch": { containers: [{ name: "agent", command: ["sh"] }] },
          "allow-pod-spec-patch-unsafe-command-modification": true,
        },
      ],
      ["the queue key instead of a queue tag", { tags: ["os=linux"], queue: "builds" }],
      [
        "no queue with the Stacks API, which serves the cluster's default queue",
        { tags: ["os=linux"], "job-source": "stacks" },
      ],
      ["an empty optional value", { id: "", "profiler-address": "" }],
    ];
    it.each(accepted)("accepts %s, as the stack does", (_name, config) => {
      const rendered = renderChart({ values: { ...base, config: { org: "my-org", ...config } } });
      expect(rendered.ok, rendered.ok ? "" : rendered.error).toBe(true);
      for (const subcommand of ["launcher", "webhook"]) {
        const env = { BUILDKITE_TOKEN: "t", ORG: "my-org" };
        loadConfig({ args: ["--config", "c.yaml"], env, subcommand, readFile: () => JSON.stringify(config) });
      }
    });

    it("leaves the queue rule to the launcher when its environment can set the tags", () => {
      const values = (extra: Record<string, unknown>) => ({
        ...base,
        config: { org: "x", tags: ["os=linux"] },
        ...extra,
      });
      expect(
        renderChart({ values: values({ controllerEnv: [{ name: "QUEUE", value: "builds" }] }) }).ok,
      ).toBe(true);
      expect(
        renderChart({ values: { ...values({}), agentToken: "", graphqlToken: "", agentStackSecret: "s" } })
          .ok,
      ).toBe(true);
    });
  });
});

describe("the chart's files", () => {
  it("has a values.schema.json generated from the configuration keys (npm run docs)", () => {
    expect(readFileSync(join(CHART, "values.schema.json"), "utf8")).toBe(chartValuesSchemaText());
  });

  it("is versioned with the package", () => {
    const chart = parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as {
      version: string;
      appVersion: string;
    };
    const version = (
      JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
    ).version;
    expect(chart.version).toBe(version);
    expect(chart.appVersion).toBe(version);
  });

  it("lists in values.yaml only what the schema accepts", () => {
    const values = parse(readFileSync(join(CHART, "values.yaml"), "utf8")) as Record<string, unknown>;
    const schema = JSON.parse(chartValuesSchemaText()) as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
    };
    for (const key of Object.keys(values)) expect(Object.keys(schema.properties), key).toContain(key);
    for (const key of Object.keys(values.config as object))
      expect(Object.keys(schema.properties.config?.properties ?? {})).toContain(key);
  });
});
