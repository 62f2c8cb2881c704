/**
 * Preloaded with `node --import` into a process under test: records every module file the process
 * resolves, and writes them as JSON to the file named by `TRACE_MODULES_FILE` as the process exits.
 * How a test sees what a command loads (ES modules leave no `require.cache` to look at).
 */
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const loaded = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    if (result.url.startsWith("file:")) loaded.add(result.url);
    return result;
  },
});
process.on("exit", () => {
  const file = process.env.TRACE_MODULES_FILE;
  if (file) writeFileSync(file, JSON.stringify([...loaded]));
});
