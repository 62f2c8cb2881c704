/**
 * Runs the containers of a rendered Deployment as local processes, the way kubelet would run them in
 * the image: the entrypoint `agent-stack-k8s` with the container's args, its env and envFrom, and its
 * volumes as directories (a ConfigMap's or Secret's keys as files, an emptyDir shared by the pod's
 * containers), and the downward API's pod name, namespace and uid. Mount paths in args and env are
 * rewritten to those directories. The API server is the fake one, through KUBECONFIG, as a pod's
 * service account would reach the real one.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { K8sObject } from "./render.ts";

const ENTRYPOINT = resolve(new URL("../../bin/agent-stack-k8s.js", import.meta.url).pathname);

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
}
export interface ContainerSpec {
  readonly name: string;
  readonly args?: readonly string[];
  readonly command?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly envFrom?: readonly { secretRef?: { name: string }; configMapRef?: { name: string } }[];
  readonly volumeMounts?: readonly { name: string; mountPath: string }[];
}
interface KeyToPath {
  readonly key: string;
  readonly path: string;
}
interface VolumeSpec {
  readonly name: string;
  readonly configMap?: { name: string; items?: readonly KeyToPath[] };
  readonly secret?: { secretName: string; items?: readonly KeyToPath[] };
  readonly emptyDir?: unknown;
}
export interface PodTemplateSpec {
  readonly initContainers?: readonly ContainerSpec[];
  readonly containers: readonly ContainerSpec[];
  readonly volumes?: readonly VolumeSpec[];
}

export interface RunningContainer {
  readonly name: string;
  readonly process: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the exit code (or signal name) once it has exited. */
  readonly exited: Promise<number | string>;
}

export interface LocalPod {
  /** Starts one container of the pod. */
  start(container: ContainerSpec): RunningContainer;
  /** The host directory behind a volume. */
  volumeDirectory(name: string): string;
  /** Removes the pod's directories (its containers must have exited). */
  remove(): void;
}

function dataOf(object: K8sObject): Record<string, string> {
  if (object.kind === "Secret") {
    const data = (object.data ?? {}) as Record<string, string>;
    return Object.fromEntries(
      Object.entries(data).map(([key, value]) => [key, Buffer.from(value, "base64").toString("utf8")]),
    );
  }
  return (object.data ?? {}) as Record<string, string>;
}

/**
 * A pod of `deployment`; `objects` are what it can reference (ConfigMaps and Secrets, as rendered or as
 * the fake API server holds them); `env` is added to every container (KUBECONFIG).
 */
export function localPod(
  deployment: K8sObject,
  objects: () => readonly K8sObject[],
  env: Readonly<Record<string, string>>,
): LocalPod {
  const spec = (deployment.spec as { template: { spec: PodTemplateSpec } }).template.spec;
  const root = mkdtempSync(join(tmpdir(), `pod-${deployment.metadata.name}-`));
  // What the downward API tells a pod about itself.
  const identity: Readonly<Record<string, string>> = {
    "metadata.name": `${deployment.metadata.name}-${randomBytes(3).toString("hex")}`,
    "metadata.namespace": deployment.metadata.namespace ?? "default",
    "metadata.uid": randomUUID(),
  };
  const find = (kind: string, name: string) => {
    const found = objects().find((object) => object.kind === kind && object.metadata.name === name);
    if (found === undefined)
      throw new Error(`${deployment.metadata.name} refers to ${kind} ${name}, which does not exist`);
    return found;
  };
  const directories = new Map<string, string>();
  const volumeDirectory = (name: string): string => {
    const existing = directories.get(name);
    if (existing !== undefined) return existing;
    const volume = (spec.volumes ?? []).find((candidate) => candidate.name === name);
    if (volume === undefined)
      throw new Error(`${deployment.metadata.name} mounts volume ${name}, which the pod does not have`);
    const directory = join(root, name);
    mkdirSync(directory, { recursive: true });
    const source = volume.configMap
      ? find("ConfigMap", volume.configMap.name)
      : volume.secret
        ? find("Secret", volume.secret.secretName)
        : undefined;
    if (source === undefined && volume.emptyDir === undefined)
      throw new Error(`volume ${name}: unsupported source`);
    const data = source === undefined ? {} : dataOf(source);
    // With `items`, only those keys, at those paths (and a missing key fails the mount, as in kubelet).
    const items =
      volume.secret?.items ?? volume.configMap?.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) {
      const value = data[item.key];
      if (value === undefined) throw new Error(`volume ${name}: ${source?.kind} has no key ${item.key}`);
      writeFileSync(join(directory, item.path), value);
    }
    directories.set(name, directory);
    return directory;
  };

  const start = (container: ContainerSpec): RunningContainer => {
    if (container.command !== undefined)
      throw new Error(`${container.name}: a command replaces the entrypoint`);
    const mounts = [...(container.volumeMounts ?? [])]
      .map((mount) => ({ path: mount.mountPath, directory: volumeDirectory(mount.name) }))
      .sort((a, b) => b.path.length - a.path.length);
    // A path starts the value or follows `=` (`--flag=/path`), and is the mount path itself or below it.
    const rewrite = (text: string) => {
      for (const mount of mounts) {
        const at = new RegExp(`(^|=)${mount.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?=/|$)`);
        if (at.test(text)) return text.replace(at, `$1${mount.directory}`);
      }
      return text;
    };
    const containerEnv: Record<string, string> = {};
    for (const source of container.envFrom ?? []) {
      if (source.secretRef) Object.assign(containerEnv, dataOf(find("Secret", source.secretRef.name)));
      if (source.configMapRef)
        Object.assign(containerEnv, dataOf(find("ConfigMap", source.configMapRef.name)));
    }
    for (const variable of container.env ?? []) {
      if (variable.valueFrom !== undefined) {
        const field = variable.valueFrom.fieldRef?.fieldPath;
        const value = field === undefined ? undefined : identity[field];
        if (value === undefined)
          throw new Error(`${container.name}: env ${variable.name}: unsupported valueFrom`);
        containerEnv[variable.name] = value;
        continue;
      }
      containerEnv[variable.name] = rewrite(variable.value ?? "");
    }
    const child = spawn(process.execPath, [ENTRYPOINT, ...(container.args ?? []).map(rewrite)], {
      env: { PATH: process.env.PATH ?? "", HOME: root, ...containerEnv, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    const exited = new Promise<number | string>((resolveExit) => {
      child.once("exit", (code, signal) => resolveExit(code ?? signal ?? "unknown"));
    });
    return { name: container.name, process: child, output: () => output, exited };
  };

  return { start, volumeDirectory, remove: () => rmSync(root, { recursive: true, force: true }) };
}
