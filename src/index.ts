// The package's public API: the pure core that the webhook, the launcher, `render` and the tests share.
export { AgentStackError, ERRORS, type ErrorCode, failureMessage, isAgentStackError } from "./errors.ts";
export { type StrategicMergePatchOptions, strategicMergePatch } from "./smp/index.ts";
export { VERSION } from "./version.ts";
