/**
 * The container image without a Docker engine: the Dockerfile's stages, and its build stage replayed
 * in a directory, instruction by instruction (its WORKDIR, COPYs from the build context, `npm ci`, the
 * image build script, `mkdir`), with the stage's absolute paths mapped into that directory. The result
 * is the image's `/app`. Shared by the image test (the entrypoint must run there) and the bench (the
 * image's size is estimated from it). An instruction it does not know how to replay is an error, so the
 * replay cannot silently drift from the Dockerfile.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Copy, DockerfileParser, type Instruction } from "dockerfile-ast";

export const ROOT = resolve(new URL("../..", import.meta.url).pathname);
export const DOCKERFILE = readFileSync(join(ROOT, "Dockerfile"), "utf8");

export interface Stage {
  readonly name: string | undefined;
  /** The image or stage it starts from, ARGs resolved. */
  readonly from: string;
  readonly instructions: Instruction[];
}

export function stages(): Stage[] {
  const args = new Map<string, string>();
  for (const match of DOCKERFILE.matchAll(/^ARG (\w+)=(\S+)$/gm)) args.set(match[1]!, match[2]!);
  const result: Stage[] = [];
  for (const instruction of DockerfileParser.parse(DOCKERFILE).getInstructions()) {
    if (instruction.getKeyword() === "FROM") {
      const values = argumentsOf(instruction);
      const as = values.findIndex((arg) => arg.toUpperCase() === "AS");
      const from = (values[0] ?? "").replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args.get(a ?? b) ?? "");
      result.push({ name: as === -1 ? undefined : values[as + 1], from, instructions: [] });
    } else {
      result.at(-1)?.instructions.push(instruction);
    }
  }
  return result;
}

export function argumentsOf(instruction: Instruction): string[] {
  return instruction.getArguments().map((arg) => arg.getValue());
}

/** The build-context sources a stage copies (COPY without --from), as repository paths. */
export function copiedFromContext(stage: Stage): string[] {
  return stage.instructions
    .filter(
      (instruction): instruction is Copy => instruction instanceof Copy && instruction.getFromFlag() === null,
    )
    .flatMap((instruction) => argumentsOf(instruction).slice(0, -1));
}

/** What the final stage copies from other stages or images: `--from`, source, destination. */
export function copiedFromStages(stage: Stage): Array<{ from: string; source: string; target: string }> {
  return stage.instructions
    .filter(
      (instruction): instruction is Copy => instruction instanceof Copy && instruction.getFromFlag() !== null,
    )
    .map((instruction) => {
      const [source, target] = argumentsOf(instruction) as [string, string];
      return { from: instruction.getFromFlag()?.getValue() ?? "", source, target };
    });
}

export interface Replay {
  /** The build stage's root: its absolute paths live under it (`/app` is `ROOT/app`). */
  readonly root: string;
  /** The image's `/app`. */
  readonly app: string;
  /** Why it could not be done (npm unreachable), or undefined. */
  readonly skip: string | undefined;
}

/**
 * Replays the build stage under `root`. `npm ci` is the one step that needs the network (the npm
 * registry): when it fails, `skip` says why and nothing after it runs.
 */
export function replayBuildStage(root: string): Replay {
  const [build] = stages() as [Stage];
  const map = (path: string) => (path.startsWith("/") ? join(root, path) : join(workdir, path));
  let workdir = root;
  const app = join(root, "app");
  for (const instruction of build.instructions) {
    const keyword = instruction.getKeyword();
    if (keyword === "WORKDIR") {
      workdir = map(instruction.getArgumentsContent() ?? "/");
      mkdirSync(workdir, { recursive: true });
    } else if (keyword === "COPY") {
      const paths = argumentsOf(instruction);
      const target = map(paths.at(-1) as string);
      for (const source of paths.slice(0, -1)) {
        const from = join(ROOT, source);
        const to =
          paths.length > 2 || target.endsWith("/") ? join(target, source.split("/").pop() as string) : target;
        mkdirSync(dirname(to), { recursive: true });
        cpSync(from, to, { recursive: statSync(from).isDirectory() });
      }
    } else if (keyword === "RUN") {
      for (const command of (instruction.getArgumentsContent() ?? "")
        .split("&&")
        .map((part) => part.trim())) {
        const failure = run(command, workdir, map);
        if (failure !== undefined) return { root, app, skip: failure };
      }
    } else if (keyword !== "USER" && keyword !== "ARG" && keyword !== "ENV" && keyword !== "LABEL") {
      throw new Error(`the image replay cannot replay ${keyword} ${instruction.getArgumentsContent()}`);
    }
  }
  return { root, app, skip: undefined };
}

/** One command of a RUN; the failure of `npm ci` is returned, any other failure thrown. */
function run(command: string, workdir: string, map: (path: string) => string): string | undefined {
  const words = command.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0] ?? "")) {
    const [name, value] = (words.shift() as string).split("=") as [string, string];
    env[name] = map(value);
  }
  const [program, ...args] = words as [string, ...string[]];
  if (program === "npm" && args[0] === "ci") {
    const result = spawnSync("npm", args, { cwd: workdir, encoding: "utf8", timeout: 240_000 });
    if (result.error || result.status !== 0) {
      return `npm ci failed (${result.error?.message ?? result.stderr.trim().split("\n").at(-1)})`;
    }
    return undefined;
  }
  // The registry's cache is not part of the image; the replay leaves the machine's alone.
  if (program === "npm" && args[0] === "cache") return undefined;
  if (program === "mkdir") {
    for (const path of args.filter((arg) => !arg.startsWith("-"))) mkdirSync(map(path), { recursive: true });
    return undefined;
  }
  // Owners only matter in the image.
  if (program === "chown") return undefined;
  if (program === "node") {
    const result = spawnSync(
      process.execPath,
      args.map((arg) => (arg.startsWith("/") ? map(arg) : arg)),
      {
        cwd: workdir,
        encoding: "utf8",
        env: { ...process.env, ...env },
        timeout: 240_000,
      },
    );
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
    return undefined;
  }
  throw new Error(`the image replay cannot replay RUN ${command}`);
}
