/**
 * Strategic merge patch of Kubernetes objects, merging exactly as `kubectl patch --type strategic`
 * (kubectl 1.32, Go's `k8s.io/apimachinery/pkg/util/strategicpatch`) merges, quirks included, with
 * the patch metadata of the generated Kubernetes 1.36 schema table.
 */
import { AgentStackError } from "../errors.ts";
import type { JsonObject } from "../k8s/decode.ts";
import { copyJson, finalize, newContext } from "./context.ts";
import { describe, isJsonMap } from "./json.ts";
import { mergeMap } from "./merge-map.ts";
import { formatPath, rootPath } from "./path.ts";
import { definitionOf } from "./schema.ts";
import { smpError } from "./smp-error.ts";

export interface StrategicMergePatchOptions {
  /** How error paths start, e.g. `$.podSpecPatch` (default `$`). */
  readonly rootPath?: string;
  /**
   * The caller gives the original up (it will use only the result): the result may share the
   * original's objects instead of copying them all. The patch is never shared.
   */
  readonly consumeOriginal?: boolean;
}

/**
 * Applies `patch` to `original`, both JSON objects of the OpenAPI definition `typeName` (for example
 * `io.k8s.api.core.v1.PodSpec`), and returns the merged object. The inputs are never modified and the
 * result shares no object with them (with `consumeOriginal`, none with the patch). Throws `AgentStackError` `ASK_SMP_UNKNOWN_TYPE` for a type the
 * schema table lacks and `ASK_SMP_INVALID_PATCH` wherever kubectl fails (or crashes), with the JSON
 * path of the problem in the message and in `path`.
 */
export function strategicMergePatch(
  original: unknown,
  patch: unknown,
  typeName: string,
  options: StrategicMergePatchOptions = {},
): JsonObject {
  const root = rootPath(options.rootPath);
  if (definitionOf(typeName) === undefined) {
    throw new AgentStackError(
      "ASK_SMP_UNKNOWN_TYPE",
      `strategic merge patch: no schema for the type "${typeName}"`,
      {
        path: formatPath(root),
      },
    );
  }
  // A JSON null decodes to a nil map in Go, which merges as an empty object.
  const base = original ?? {};
  if (!isJsonMap(base)) throw smpError(root, `the original must be a JSON object, got ${describe(base)}`);
  if (patch === null || patch === undefined) return copyJson(base) as JsonObject;
  if (!isJsonMap(patch)) throw smpError(root, `the patch must be a JSON object, got ${describe(patch)}`);
  const consume = options.consumeOriginal === true;
  const context = newContext(consume);
  // When the result may share the inputs, it shares a copy of the patch, never the patch itself.
  const own = consume ? (copyJson(patch) as typeof patch) : patch;
  const merged = mergeMap(base, own, { kind: "object", ref: typeName }, root, context);
  return finalize(merged, context) as JsonObject;
}
