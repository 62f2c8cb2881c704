import { AgentStackError } from "../errors.ts";
import { formatPath, type PatchPath } from "./path.ts";

/**
 * The error for every patch kubectl rejects, including the ones where kubectl crashes (a Go panic):
 * the message names the path first because a user fixes the patch there.
 */
export function smpError(path: PatchPath, reason: string): AgentStackError {
  const at = formatPath(path);
  return new AgentStackError("ASK_SMP_INVALID_PATCH", `strategic merge patch at ${at}: ${reason}`, {
    path: at,
  });
}
