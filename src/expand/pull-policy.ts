/** Pull policies (§5.1): the digest default, and the preference order image checks use. */

import type { Config } from "../config/types.ts";
import { hasDigest } from "../images/reference.ts";

/** A digest pins the image, so there is nothing new to pull. */
export function digestDefault(image: string): string {
  return hasDigest(image) ? "IfNotPresent" : "Always";
}

const PREFERENCE: Readonly<Record<string, number>> = { Never: 1, IfNotPresent: 2, Always: 3 };

export function preference(policy: string | undefined): number {
  return PREFERENCE[policy ?? ""] ?? 0;
}

export function coalesce(...values: ReadonlyArray<string | undefined>): string {
  return values.find((value) => value) ?? "";
}

/** What the stack's own containers (agent, checkout, copy-agent) are created with. */
export function stackImagePullPolicy(config: Config): string {
  return coalesce(config.defaultImagePullPolicy, digestDefault(config.image));
}
