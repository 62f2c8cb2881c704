#!/usr/bin/env node
// The sources are TypeScript run by Node's own type stripping, which Node 24 has on by default.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `agent-stack-k8s needs Node 24 or newer, but runs on ${process.version} (${process.execPath}).\n` +
      "Run it through npm (npx agent-stack-k8s …) after `npm ci`, which brings a Node 24 runtime on Linux x64.\n",
  );
  process.exit(1);
}
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
