#!/usr/bin/env node
// The sources are TypeScript run by Node's own type stripping, which Node 24 has on by default; the
// image runs them precompiled to JavaScript (scripts/build-image.ts). On an older Node, one line says
// what to install before anything newer is needed.
import { nodeVersionProblem } from "./node-version.js";

const problem = nodeVersionProblem();
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}

// The long-running commands start again with their heap flags (heap-flags.js says why), in the same
// process (exec, same pid): V8 reads them only when it starts. A flag given on the command line or in
// NODE_OPTIONS wins over the same flag here; the others are still added.
const { HEAP_FLAGS } = await import("./heap-flags.js");
const [command, ...args] = process.argv.slice(2);
const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].map(
  (arg) => arg.split("=")[0],
);
const missing = (Object.hasOwn(HEAP_FLAGS, command) ? HEAP_FLAGS[command] : []).filter(
  (flag) => !given.includes(flag.split("=")[0]),
);
if (missing.length > 0 && !args.includes("--help") && !args.includes("-h")) {
  process.execve?.(process.execPath, [
    process.execPath,
    ...missing,
    ...process.execArgv,
    ...process.argv.slice(1),
  ]);
}

// Node's compile cache keeps each module's compiled code (and TypeScript with its types stripped) on
// disk, keyed by its content: from the second start on, modules load without being parsed, compiled
// or type-stripped again. `NODE_COMPILE_CACHE` names the directory (the image ships one, filled at
// build time); otherwise it is node-compile-cache in the temporary directory. A directory that cannot
// be written only means nothing new is kept.
const { enableCompileCache } = await import("node:module");
enableCompileCache?.();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
