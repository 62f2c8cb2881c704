/**
 * `npm run bench`: every benchmark, then issue 12's footprint table with each figure next to its
 * baseline from the same run. Parts can be picked: `npm run bench -- startup webhook-memory`.
 * Never part of `npm test`: the figures are ratios and sizes to read, not assertions.
 *
 * Parts, in order: admission (the pure core per admission), startup, certs, webhook-memory, webhook
 * (throughput under load), launcher (1,000, 2,000 and 10,000 Jobs, with each job source), image (size
 * estimate).
 */
import { admissionBench } from "./admission.ts";
import { certsBench } from "./certs.ts";
import { imageBench } from "./image.ts";
import { launcherBench } from "./launcher.ts";
import { startupBench } from "./startup.ts";
import { printTable } from "./support/figures.ts";
import { webhookLoadBench } from "./webhook.ts";
import { webhookMemoryBench } from "./webhook-memory.ts";

const write = (text: string) => {
  process.stdout.write(text);
};

const PARTS = ["admission", "startup", "certs", "webhook-memory", "webhook", "launcher", "image"] as const;
type Part = (typeof PARTS)[number];

const asked = process.argv.slice(2);
for (const name of asked) {
  if (!(PARTS as readonly string[]).includes(name)) {
    process.stderr.write(`unknown bench part ${JSON.stringify(name)}; parts: ${PARTS.join(", ")}\n`);
    process.exit(2);
  }
}
const run = (part: Part) => asked.length === 0 || asked.includes(part);

// The webhook's composed floor needs the time of one admit, measured in this run.
const { admitSeconds } = admissionBench(run("admission") ? write : () => {});
if (run("startup")) await startupBench(write);
if (run("certs")) await certsBench(write);
if (run("webhook-memory")) await webhookMemoryBench(write);
if (run("webhook")) await webhookLoadBench(write, admitSeconds);
if (run("launcher")) await launcherBench(write);
if (run("image")) imageBench(write);
printTable(write);
