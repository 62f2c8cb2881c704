/**
 * The image's `/app`, made by the Dockerfile's build stage (and replayed by test/image): the sources
 * precompiled to JavaScript, and of the production dependencies only what can run. Development keeps
 * running the TypeScript directly; only the image runs this output.
 *
 *   node scripts/build-image.ts SOURCE APP   compile SOURCE's code and prune its node_modules into APP
 *   node scripts/build-image.ts --warm APP   fill APP's compile cache (`NODE_COMPILE_CACHE`), run as
 *                                            the image's user: Node keys the cache by user id
 *
 * - Code: each `.ts` file of the directories the entrypoint loads from, its types stripped by Node's
 *   own `stripTypeScriptTypes` (the same stripping Node applies when it runs the sources, so lines and
 *   columns in stack traces are the source's), its relative `.ts` imports renamed to `.js`. No type
 *   stripping at start-up then: a fifth of a command's start-up time and about 15 MB less per process.
 * - Dependencies: the packages the code can reach (a bare `import`, `export … from`, `import()` or
 *   `require()` of any file of a reached package reaches that package), without what never runs
 *   (type declarations, source maps, TypeScript sources, documentation, tests). Of
 *   `@kubernetes/client-node`, whose generated API and model modules the stack never loads
 *   (runtime/kube.ts), only the modules reachable from the ones it imports are kept.
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import {
  createRequire,
  enableCompileCache,
  flushCompileCache,
  isBuiltin,
  stripTypeScriptTypes,
} from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";

/** The directories the entrypoint loads code from, as the Dockerfile copies them. */
export const APP_DIRECTORIES = ["bin", "cli", "src", "runtime", "webhook", "launcher", "certs", "diagnose"];

/**
 * Packages pruned module by module instead of whole. runtime/kube.ts's resolve hook replaces the
 * import of the generated index by `dist/config.js` with the two modules it needs from it: that edge
 * is not followed, and those two are reached instead.
 */
const MODULE_LEVEL: Readonly<
  Record<string, { readonly reached: readonly string[]; readonly replaced: Readonly<Record<string, string>> }>
> = {
  "@kubernetes/client-node": {
    reached: ["dist/gen/configuration.js", "dist/gen/servers.js"],
    replaced: { "dist/config.js": "./gen/index.js" },
  },
};

const NEVER_RUN_FILE = /(\.d\.[cm]?ts|\.[cm]?ts|\.map|\.md|\.markdown)$/i;
const NEVER_RUN_DIRECTORY = new Set([
  "test",
  "tests",
  "__tests__",
  ".github",
  "example",
  "examples",
  "benchmark",
  "benchmarks",
  "docs",
]);
const CODE_FILE = /\.(c|m)?js$/;
const SPECIFIERS =
  /\brequire\s*\(\s*(["'])([^"'\n]+)\1\s*\)|\bfrom\s*(["'])([^"'\n]+)\3|\bimport\s*\(\s*(["'])([^"'\n]+)\5\s*\)|\bimport\s+(["'])([^"'\n]+)\7/g;
const RELATIVE_TS_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"'\n]+)\.ts\2/g;

export function buildApp(source: string, app: string): { files: number; packages: number } {
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  cpSync(join(source, "package.json"), join(app, "package.json"));
  const compiled: string[] = [];
  for (const directory of APP_DIRECTORIES) {
    for (const file of filesUnder(join(source, directory))) {
      compiled.push(compile(file, join(app, relative(source, file)).replace(/\.ts$/, ".js")));
    }
  }
  const packages = pruneDependencies(source, app, compiled);
  return { files: compiled.length, packages };
}

/** One source file as the image runs it: types stripped, relative `.ts` imports renamed. */
function compile(file: string, output: string): string {
  const text = readFileSync(file, "utf8");
  const code = file.endsWith(".ts") ? stripTypeScriptTypes(text, { mode: "strip" }) : text;
  const renamed = code.replace(
    RELATIVE_TS_SPECIFIER,
    (_, head, quote, path) => `${head}${quote}${path}.js${quote}`,
  );
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, renamed);
  return output;
}

/** Copies the reachable packages of SOURCE/node_modules into APP/node_modules; returns how many. */
function pruneDependencies(source: string, app: string, roots: readonly string[]): number {
  const whole = new Set<string>();
  const modules = new Map<string, Set<string>>();
  const scanned = new Set<string>();
  const queue = [...roots];
  const reach = (from: string, specifier: string) => {
    if (specifier.startsWith(".") || specifier.startsWith("/") || isBuiltin(specifier)) return;
    if (/^[a-z]+:/.test(specifier)) return;
    const parts = specifier.split("/");
    const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
    const directory = packageDirectory(from, name);
    if (directory === undefined) return; // optional, and not installed
    const level = MODULE_LEVEL[name];
    if (level === undefined) {
      if (whole.has(directory)) return;
      whole.add(directory);
      queue.push(...filesUnder(directory).filter((file) => CODE_FILE.test(file) && !neverRuns(file)));
      return;
    }
    const kept = modules.get(directory) ?? new Set<string>();
    modules.set(directory, kept);
    const subpath = specifier.slice(name.length + 1);
    for (const path of [...(subpath ? [subpath] : []), ...level.reached]) {
      const file = join(directory, path);
      if (existsSync(file) && !kept.has(file)) {
        kept.add(file);
        queue.push(file);
      }
    }
  };
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (scanned.has(file)) continue;
    scanned.add(file);
    const text = readFileSync(file, "utf8");
    const owner = [...modules.keys()].find((directory) => file.startsWith(directory + sep));
    // The app's compiled modules resolve packages as their sources do, from SOURCE.
    const from = file.startsWith(app + sep) ? join(source, relative(app, file)) : file;
    for (const match of text.matchAll(SPECIFIERS)) {
      const specifier = (match[2] ?? match[4] ?? match[6] ?? match[8]) as string;
      if (owner !== undefined && specifier.startsWith(".")) {
        // Inside a package pruned module by module: follow its relative imports, but the replaced one.
        if (replacedEdge(join(source, "node_modules"), file) === specifier) continue;
        const target = join(dirname(file), specifier);
        const kept = modules.get(owner) as Set<string>;
        if (existsSync(target) && statSync(target).isFile() && !kept.has(target)) {
          kept.add(target);
          queue.push(target);
        }
      } else {
        reach(from, specifier);
      }
    }
  }
  for (const directory of whole) copyPackage(directory, join(app, relative(source, directory)));
  for (const [directory, files] of modules) {
    const target = join(app, relative(source, directory));
    for (const file of [join(directory, "package.json"), ...licenses(directory), ...files]) {
      mkdirSync(dirname(join(target, relative(directory, file))), { recursive: true });
      cpSync(file, join(target, relative(directory, file)));
    }
  }
  checkRelativeImports(join(app, "node_modules"), join(source, "node_modules"));
  return whole.size + modules.size;
}

/** The import of `file` that runtime/kube.ts's hook replaces, if any (`nodeModules`: its root). */
function replacedEdge(nodeModules: string, file: string): string | undefined {
  const path = relative(nodeModules, file).split(sep).join("/");
  for (const [name, level] of Object.entries(MODULE_LEVEL)) {
    if (path.startsWith(`${name}/`)) return level.replaced[path.slice(name.length + 1)];
  }
  return undefined;
}

/** Where `name` resolves from `from`, as Node looks it up (nested node_modules first). */
function packageDirectory(from: string, name: string): string | undefined {
  for (const base of createRequire(from).resolve.paths(name) ?? []) {
    const directory = join(base, name);
    if (existsSync(join(directory, "package.json"))) return directory;
  }
  return undefined;
}

function copyPackage(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    filter: (path) => {
      const name = path.slice(path.lastIndexOf(sep) + 1);
      // Nested packages are copied on their own, when reached.
      if (name === "node_modules" && path !== from) return false;
      if (statSync(path).isDirectory()) return path === from || !NEVER_RUN_DIRECTORY.has(name);
      return !neverRuns(path);
    },
  });
}

function neverRuns(file: string): boolean {
  const name = file.slice(file.lastIndexOf(sep) + 1);
  if (/^licen[cs]e/i.test(name)) return false;
  return NEVER_RUN_FILE.test(name) || file.split(sep).some((part) => NEVER_RUN_DIRECTORY.has(part));
}

function licenses(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => /^licen[cs]e/i.test(name))
    .map((name) => join(directory, name));
}

/**
 * Pruning must never remove a module that kept code imports by a literal relative path. (A path that
 * only ever was a type declaration, such as a JSDoc `import('./types')`, is no such module.)
 */
function checkRelativeImports(nodeModules: string, sourceModules: string): void {
  const missing: string[] = [];
  const exists = (target: string) =>
    [target, `${target}.js`, `${target}.json`, join(target, "index.js")].some((path) => existsSync(path));
  for (const file of filesUnder(nodeModules).filter((path) => CODE_FILE.test(path))) {
    for (const match of readFileSync(file, "utf8").matchAll(SPECIFIERS)) {
      const specifier = (match[2] ?? match[4] ?? match[6] ?? match[8]) as string;
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
      if (/\.d\.[cm]?ts$/.test(specifier) || replacedEdge(nodeModules, file) === specifier) continue;
      const target = join(dirname(file), specifier);
      if (exists(target)) continue;
      const original = join(sourceModules, relative(nodeModules, target));
      if (exists(original)) missing.push(`${relative(nodeModules, file)} → ${specifier}`);
    }
  }
  if (missing.length > 0) {
    throw new Error(`pruning removed modules that kept code imports:\n${missing.slice(0, 20).join("\n")}`);
  }
}

function filesUnder(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

/**
 * Compiles every module of the app into `NODE_COMPILE_CACHE`, so the image's processes start without
 * compiling them. The cache is keyed by path, content, Node version, V8 flags and user id: run it in
 * place, as the image's user; it compiles once without flags (`version`, `render`, `--help`) and once
 * with each set of heap flags the long-running commands start with (bin/heap-flags.js).
 */
export async function warmCompileCache(app: string): Promise<number> {
  if (!process.env.NODE_COMPILE_CACHE)
    throw new Error("set NODE_COMPILE_CACHE to the image's cache directory");
  const { HEAP_FLAGS } = (await import(pathToFileURL(join(app, "bin/heap-flags.js")).href)) as {
    HEAP_FLAGS: Record<string, readonly string[]>;
  };
  const flagSets = new Map<string, readonly string[]>([["", []]]);
  for (const flags of Object.values(HEAP_FLAGS)) flagSets.set(flags.join(" "), flags);
  let count = 0;
  for (const flags of flagSets.values()) {
    const run = spawnSync(process.execPath, [...flags, process.argv[1] as string, "--warm-modules", app], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (run.status !== 0) throw new Error(`warming the compile cache with [${flags.join(" ")}] failed`);
    count = Number(run.stdout);
  }
  return count;
}

/** In a process of `warmCompileCache`: imports every module, then writes the cache out. */
async function warmModules(app: string): Promise<number> {
  enableCompileCache(process.env.NODE_COMPILE_CACHE as string);
  const entry = join(app, "bin/agent-stack-k8s.js");
  const files = APP_DIRECTORIES.flatMap((name) => filesUnder(join(app, name))).filter(
    (file) => file.endsWith(".js") && file !== entry,
  );
  // The entrypoint is left out: importing it would run it.
  for (const file of files) await import(pathToFileURL(file).href);
  flushCompileCache();
  return files.length;
}

if (import.meta.main) {
  const [first, second, third] = process.argv.slice(2);
  if (first === "--warm-modules" && second !== undefined) {
    process.stdout.write(String(await warmModules(second)));
  } else if (first === "--warm" && second !== undefined) {
    const count = await warmCompileCache(second);
    process.stdout.write(`compiled ${count} modules into ${process.env.NODE_COMPILE_CACHE}\n`);
  } else if (first !== undefined && second !== undefined && third === undefined) {
    const built = buildApp(first, second);
    process.stdout.write(
      `${built.files} modules compiled, ${built.packages} packages kept, into ${second}\n`,
    );
  } else {
    process.stderr.write("usage: node scripts/build-image.ts SOURCE APP | --warm APP\n");
    process.exit(2);
  }
}
