/**
 * §2.13 and §5: image checks. Before the pod's containers start, one init container per image runs
 * `tini-static --version` from it, so an image that cannot be pulled fails fast with a clear reason
 * instead of leaving the agent waiting. Images are also validated here, and pull policies adjusted so
 * that an image is pulled once, by its check.
 *
 * Upstream numbers the checks in Go map order (random); here they follow the order in which each image
 * first appears in `containers`. Upstream requests 100m and 64Mi whatever the configured limits, so a
 * limit below them gives Jobs that Kubernetes refuses; here a request never exceeds its limit.
 */

import type { Config } from "../config/types.ts";
import { AgentStackError } from "../errors.ts";
import type { Container } from "../generated/k8s-types.ts";
import { parseImageReference } from "../images/reference.ts";
import { quantityValue } from "../k8s/quantity.ts";
import { COMMAND_ENTRYPOINT, imageCheckName } from "./names.ts";
import { coalesce, digestDefault, preference } from "./pull-policy.ts";
import type { Draft, ExpansionInputs } from "./state.ts";
import { workspaceMount } from "./volumes.ts";

export interface InvalidImage {
  readonly container: string;
  readonly image: string;
  readonly error: string;
}

/** `ASK_IMAGE_REFERENCE`, with each bad reference, so that `lint` can point at each container. */
export class InvalidImagesError extends AgentStackError {
  readonly invalid: readonly InvalidImage[];

  constructor(message: string, invalid: readonly InvalidImage[]) {
    super("ASK_IMAGE_REFERENCE", message);
    this.invalid = invalid;
  }
}

const DEFAULT_CPU_LIMIT = "200m";
const DEFAULT_MEMORY_LIMIT = "128Mi";
/** Upstream's requests; a configured limit below one lowers it, since Kubernetes refuses a request over its limit. */
const CPU_REQUEST = "100m";
const MEMORY_REQUEST = "64Mi";

export function imageChecks(draft: Draft, inputs: ExpansionInputs): void {
  const { config } = inputs;
  const invalid: InvalidImage[] = [];
  const checks = selectChecks(draft.podSpec.containers, config, invalid);
  const cullers = [...draft.stackInitContainers, ...(draft.podSpec.initContainers ?? [])];
  for (const init of cullers) cull(checks, init, invalid);
  if (invalid.length > 0) throw invalidImagesError(invalid);
  if (config.skipImageCheckContainers) return;
  [...checks].forEach(([image, policy], index) => {
    draft.stackInitContainers.push(imageCheckContainer(index, image, policy, config));
  });
}

/** §5.2: the policy each image is checked with, and the containers' own adjusted policies. */
function selectChecks(
  containers: readonly Container[],
  config: Config,
  invalid: InvalidImage[],
): Map<string, string> {
  const checks = new Map<string, string>();
  for (const container of containers) {
    const image = container.image ?? "";
    if (!isValidImage(container, invalid)) continue;
    const nominal = coalesce(
      container.imagePullPolicy,
      config.defaultImageCheckPullPolicy,
      config.defaultImagePullPolicy,
      digestDefault(image),
    );
    container.imagePullPolicy = coalesce(
      container.imagePullPolicy,
      config.defaultImagePullPolicy,
      digestDefault(image),
    );
    // The check will have pulled the image already.
    if (nominal === "Always" && container.imagePullPolicy === "Always")
      container.imagePullPolicy = "IfNotPresent";
    const current = checks.get(image);
    if (current === undefined || preference(nominal) > preference(current)) checks.set(image, nominal);
  }
  return checks;
}

/** §5.3: an init container that already pulls an image at least as eagerly makes its check redundant. */
function cull(checks: Map<string, string>, init: Container, invalid: InvalidImage[]): void {
  if (!isValidImage(init, invalid)) return;
  const image = init.image ?? "";
  const check = checks.get(image);
  if (check !== undefined && preference(init.imagePullPolicy) >= preference(check)) checks.delete(image);
}

function isValidImage(container: Container, invalid: InvalidImage[]): boolean {
  const image = container.image ?? "";
  const parsed = parseImageReference(image);
  if (parsed.ok) return true;
  invalid.push({ container: container.name, image, error: parsed.error });
  return false;
}

function imageCheckContainer(index: number, image: string, policy: string, config: Config): Container {
  const cpuLimit = config.imageCheckContainerCpuLimit || DEFAULT_CPU_LIMIT;
  const memoryLimit = config.imageCheckContainerMemoryLimit || DEFAULT_MEMORY_LIMIT;
  return {
    name: imageCheckName(index),
    image,
    imagePullPolicy: policy,
    command: [...COMMAND_ENTRYPOINT],
    args: ["--version"],
    volumeMounts: [workspaceMount(config)],
    resources: {
      requests: { cpu: atMost(CPU_REQUEST, cpuLimit), memory: atMost(MEMORY_REQUEST, memoryLimit) },
      limits: { cpu: cpuLimit, memory: memoryLimit },
    },
  };
}

/** The request, or the limit when that is lower. */
function atMost(request: string, limit: string): string {
  const limitValue = quantityValue(limit);
  return limitValue !== undefined && limitValue < (quantityValue(request) as number) ? limit : request;
}

/** §5.5: one bad reference is a sentence; several are a table sorted by container name. */
function invalidImagesError(invalid: readonly InvalidImage[]): AgentStackError {
  if (invalid.length === 1) return new InvalidImagesError(invalidImageText(invalid[0]!), invalid);
  const rows = [...invalid]
    .sort((a, b) => (a.container < b.container ? -1 : a.container > b.container ? 1 : 0))
    .map((row) => [JSON.stringify(row.container), JSON.stringify(row.image), row.error]);
  return new InvalidImagesError(
    `invalid image references\n\n${roundedTable(["CONTAINER", "IMAGE REF", "PARSE ERROR"], rows)}`,
    invalid,
  );
}

/** `invalid reference format "a b" for container "container-0"`, upstream's wording. */
export function invalidImageText(invalid: InvalidImage): string {
  return `${invalid.error} ${JSON.stringify(invalid.image)} for container ${JSON.stringify(invalid.container)}`;
}

function roundedTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (left: string, middle: string, right: string): string =>
    `${left}${widths.map((width) => "─".repeat(width + 2)).join(middle)}${right}`;
  const row = (cells: readonly string[]): string =>
    `│ ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" │ ")} │`;
  return [line("╭", "┬", "╮"), row(header), line("├", "┼", "┤"), ...rows.map(row), line("╰", "┴", "╯")].join(
    "\n",
  );
}
