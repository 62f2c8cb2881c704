/**
 * The table of docs/permissions.md: the Kubernetes permissions each component needs and `diagnose` needs, from
 * src/k8s/permissions.ts, the list the code and the chart are tested against.
 */
import {
  describePermission,
  diagnosePermissions,
  type Permission,
  STACK_COMPONENTS,
  stackPermissions,
} from "../src/k8s/permissions.ts";
import { withBlock } from "./docs-block.ts";

export const PERMISSIONS_START = "<!-- permissions:start -->";
export const PERMISSIONS_END = "<!-- permissions:end -->";

const NAMES = {
  agentTokenSecret: "<agent-token-secret>",
  tlsSecret: "<fullname>-webhook-tls",
  webhookConfiguration: "<fullname>-<namespace>",
};

export function permissionsMarkdown(): string {
  const row = (who: string, permission: Permission) =>
    `| ${who} | \`${describePermission(permission)}\`${permission.namespaced ? "" : " (cluster)"} | ${permission.why} |`;
  const rows = [
    ...STACK_COMPONENTS.flatMap((component) =>
      stackPermissions(component, NAMES).map((permission) => row(component, permission)),
    ),
    ...diagnosePermissions({
      tlsSecret: "<the webhook's TLS Secret>",
      webhookService: "https:<fullname>-webhook:443",
    }).map((permission) => row("diagnose", permission)),
  ];
  return ["| who | permission | for |", "| --- | --- | --- |", ...rows].join("\n");
}

export function withPermissionsTable(text: string): string {
  return withBlock(text, PERMISSIONS_START, PERMISSIONS_END, permissionsMarkdown(), "docs/permissions.md");
}
