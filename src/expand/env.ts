/** Container environment helpers with upstream's two semantics: append, and HEAD's `setEnv`. */
import type { Container, EnvVar } from "../generated/k8s-types.ts";

export function envVar(name: string, value: string): EnvVar {
  return { name, value };
}

export function appendEnv(container: Container, ...entries: EnvVar[]): void {
  container.env = [...(container.env ?? []), ...entries];
}

/** Overwrites the value of an existing entry of the same name in place, else appends. */
export function setEnv(container: Container, entry: EnvVar): void {
  const env = container.env ?? [];
  const index = env.findIndex((existing) => existing.name === entry.name);
  if (index >= 0) env[index] = entry;
  else env.push(entry);
  container.env = env;
}

export function hasEnv(container: Container, name: string): boolean {
  return (container.env ?? []).some((entry) => entry.name === name);
}

export function boolText(value: boolean): string {
  return value ? "true" : "false";
}
