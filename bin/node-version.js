// The one Node version check, for the CLI (bin/agent-stack-k8s.js) and every npm script that runs our
// code (`node bin/node-version.js && …`). Plain JavaScript with nothing newer than an old Node can
// parse, so that on Node 20 the answer is one line saying what to install, not a crash in whatever
// first uses a Node 24 feature (`Map.groupBy is not a function`, `Unknown file extension ".ts"`).
//
// Run as a script it prints the Node it runs on (npm test starts with that line; `--quiet` does not)
// and exits 0, or prints the problem and exits 1.

import { pathToFileURL } from "node:url";

export const REQUIRED_MAJOR = 24;

/** Where `npm ci` brings a Node 24 runtime: the platforms the npm registry has a `node-<os>-<cpu>` 24.x package for. */
export const BROUGHT_BY_NPM = ["linux-x64", "linux-arm64", "darwin-x64", "win32-x64"];

/** The one line that says what is wrong and what to install, or undefined when this Node will do. */
export function nodeVersionProblem(
  version = process.version,
  execPath = process.execPath,
  platform = `${process.platform}-${process.arch}`,
) {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? 0);
  if (major >= REQUIRED_MAJOR) return undefined;
  const remedy = BROUGHT_BY_NPM.includes(platform)
    ? "run `npm ci` in this repository (it brings Node 24 for this platform) and start it through npm (`npm test`, `npx agent-stack-k8s`), or install Node.js 24 LTS"
    : `install Node.js 24 LTS (https://nodejs.org): npm brings no Node 24 for ${platform}`;
  return `agent-stack-k8s needs Node.js ${REQUIRED_MAJOR} or newer, but this is Node ${version} (${execPath}): ${remedy}.`;
}

const runAsScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runAsScript) {
  const problem = nodeVersionProblem();
  if (problem === undefined) {
    if (!process.argv.includes("--quiet"))
      process.stdout.write(`Node ${process.version} (${process.execPath})\n`);
  } else {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
}
