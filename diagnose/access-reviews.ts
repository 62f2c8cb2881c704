/**
 * Every permission the stack's service accounts need (src/k8s/permissions.ts, the list the chart's
 * RBAC and the code are tested against), checked in the cluster with a SelfSubjectAccessReview made as
 * each service account, the way `kubectl auth can-i --as=system:serviceaccount:NS:NAME` asks. Upstream's
 * check-rbac.sh asks as whoever runs it; diagnose runs on a workstation, so it asks as the stack. That
 * takes `impersonate` on those service accounts (Kubernetes' `edit` and `admin` roles have it).
 */
import { CERTS_FLAGS } from "../certs/command.ts";
import { isKubeApiError, KubeErrorKind } from "../runtime/kube-api-error.ts";
import { parseArgs } from "../src/config/args.ts";
import { describePermission, type Permission, stackPermissions } from "../src/k8s/permissions.ts";
import { eachLimited } from "./each-limited.ts";
import { type DiagnoseContext, needs, type Part, type PartOutcome, type StackDeployment } from "./part.ts";
import { podSpecOf } from "./stack.ts";

const CONCURRENT_REVIEWS = 4;
/** Stands for a name diagnose could not learn; the permissions that need it are not checked. */
const UNKNOWN = "\u0000unknown";

type Row =
  | { readonly permission: Permission; readonly allowed: boolean; readonly reason?: string }
  | { readonly permission: Permission; readonly unknown: string };

export const permissionsPart: Part = {
  name: "permissions",
  async run(context: DiagnoseContext): Promise<PartOutcome> {
    const stack = needs(context.found.stack, "the stack's Deployments");
    const { namespace } = context.options;
    const names = namesOf(context);
    const sections: { found: StackDeployment; rows: Row[] }[] = stack.deployments.map((found) => ({
      found,
      rows: [],
    }));
    const reviews = sections.flatMap((section) =>
      stackPermissions(section.found.component, names).map((permission) => ({ section, permission })),
    );
    let refused: unknown;
    await eachLimited(reviews, CONCURRENT_REVIEWS, async ({ section, permission }) => {
      if (permission.name === UNKNOWN) {
        section.rows.push({ permission, unknown: unknownWhy(section.found) });
        return;
      }
      if (refused !== undefined) return;
      const user = `system:serviceaccount:${namespace}:${section.found.serviceAccount}`;
      try {
        section.rows.push({ permission, ...(await context.cluster.canI(user, permission, namespace)) });
      } catch (error) {
        // Not allowed to impersonate (or to review): no row can be checked; say so once.
        if (isKubeApiError(error, KubeErrorKind.Forbidden)) refused ??= error;
        else section.rows.push({ permission, unknown: (error as Error).message });
      }
    });
    if (refused !== undefined) throw refused;
    const width = Math.max(...reviews.map(({ permission }) => what(permission).length));
    const table = sections.flatMap(({ found, rows }) => [
      `${found.component} (service account ${namespace}/${found.serviceAccount})`,
      ...orderOf(found, names, rows).map((row) => rowText(row, width)),
    ]);
    const header =
      "What each service account of the stack needs (src/k8s/permissions.ts), checked with a SelfSubjectAccessReview made as that service account.";
    await context.write("permissions.txt", `${header}\n\n${table.join("\n")}\n`);
    const rows = sections.flatMap((section) => section.rows);
    const missing = rows.filter((row) => "allowed" in row && !row.allowed).length;
    const unknown = rows.filter((row) => "unknown" in row).length;
    const counts = `${rows.length - missing - unknown} of ${rows.length} granted${missing > 0 ? `, ${missing} missing` : ""}${unknown > 0 ? `, ${unknown} not checked` : ""}`;
    return {
      status: missing > 0 ? "problem" : unknown > 0 ? "partial" : "ok",
      summary: counts,
      details: table,
    };
  },
};

/** Rows in the list's order, whatever order the reviews came back in. */
function orderOf(found: StackDeployment, names: ReturnType<typeof namesOf>, rows: readonly Row[]): Row[] {
  const order = stackPermissions(found.component, names).map(describePermission);
  return [...rows].sort(
    (a, b) =>
      order.indexOf(describePermission(a.permission)) - order.indexOf(describePermission(b.permission)),
  );
}

function what(permission: Permission): string {
  return describePermission({
    ...permission,
    name: permission.name === UNKNOWN ? "(unknown)" : permission.name,
  });
}

function rowText(row: Row, width: number): string {
  if ("unknown" in row) return `  ? ${what(row.permission).padEnd(width)}  not checked: ${row.unknown}`;
  const mark = row.allowed ? "✓" : "✗";
  const reason = !row.allowed && row.reason ? ` (${row.reason})` : "";
  return `  ${mark} ${what(row.permission).padEnd(width)}  ${row.permission.why}${reason}`;
}

function unknownWhy(found: StackDeployment): string {
  return found.component === "launcher"
    ? "the agent token Secret is named by the configuration, which could not be read"
    : "the certs Deployment's args do not name it";
}

/** The names some permissions are limited to: from the configuration and the certs keeper's args. */
function namesOf(context: DiagnoseContext) {
  const certs = podSpecOf(context, "certs")?.containers.find((container) => container.name === "certs");
  const args = certs?.args ?? [];
  const flags = parseArgs(args[0] === "certs" ? args.slice(1) : args, CERTS_FLAGS).command;
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : UNKNOWN);
  return {
    agentTokenSecret: context.found.config?.agentTokenSecret ?? UNKNOWN,
    tlsSecret: text(flags.secret),
    webhookConfiguration: text(flags["webhook-configuration"]),
  };
}
