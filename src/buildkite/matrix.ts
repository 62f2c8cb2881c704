/**
 * Build matrix (https://buildkite.com/docs/pipelines/build-matrix): one command step becomes one job per
 * combination of matrix values, with `{{matrix}}` / `{{matrix.<dimension>}}` replaced by the job's values.
 *
 * Forms, as Buildkite's pipeline schema and go-pipeline read them:
 * - `matrix: [a, b]`: one anonymous dimension, tokens `{{matrix}}`;
 * - `matrix: {setup: [a, b], adjustments: […]}`: the same with adjustments;
 * - `matrix: {setup: {os: […], arch: […]}, adjustments: […]}`: named dimensions, tokens `{{matrix.os}}`.
 * An adjustment names a full combination in `with` (every dimension, no other: go-pipeline refuses the
 * rest). With `skip` (true or a reason) it removes that combination, and a skip wins over any other
 * adjustment of the same combination; without `skip` it adds the combination when the setup does not
 * produce it (`soft_fail` only changes how a failure is reported, so it changes no job).
 *
 * Order of the jobs, which Buildkite does not document: the setup's combinations with the first dimension
 * varying slowest, then added combinations in adjustment order.
 */
import {
  describe,
  type Entries,
  indexPath,
  inputError,
  keyPath,
  lookup,
  mappingEntries,
  optionalScalarText,
  requireList,
} from "./pipeline-input.ts";

/** One job's matrix values, dimension → value; a list matrix has one dimension named "". */
export type MatrixCombination = ReadonlyMap<string, string>;

const ANONYMOUS = "";
// The pipeline schema's pattern for dimension names.
const DIMENSION_NAME = /^[a-zA-Z0-9_]+$/;
const MATRIX_KEYS = new Set(["setup", "adjustments"]);
const ADJUSTMENT_KEYS = new Set(["with", "skip", "soft_fail"]);

interface MatrixSetup {
  /** Dimension names in document order. */
  readonly dimensions: readonly string[];
  readonly values: ReadonlyMap<string, readonly string[]>;
}

interface Adjustment {
  readonly combination: MatrixCombination;
  readonly skip: boolean;
}

/** The combinations a step's `matrix` produces, in job order. */
export function matrixCombinations(value: unknown, path: string): MatrixCombination[] {
  if (Array.isArray(value)) return cartesianProduct(anonymousSetup(value, path));
  const entries = mappingEntries(value, path);
  if (entries === undefined) {
    throw inputError(path, `expected a list of values or a mapping with \`setup\`, got ${describe(value)}`);
  }
  for (const [key] of entries) {
    if (!MATRIX_KEYS.has(key)) {
      throw inputError(
        keyPath(path, key),
        "is not supported in a matrix (expected `setup` and `adjustments`)",
      );
    }
  }
  const setupPath = keyPath(path, "setup");
  const setupValue = lookup(entries, "setup");
  if (setupValue === undefined || setupValue === null)
    throw inputError(setupPath, "a matrix needs a `setup`");
  const setup = parseSetup(setupValue, setupPath);
  const adjustmentsPath = keyPath(path, "adjustments");
  const adjustments = optionalList(lookup(entries, "adjustments"), adjustmentsPath).map((adjustment, index) =>
    parseAdjustment(adjustment, indexPath(adjustmentsPath, index), setup),
  );
  const combinations = applyAdjustments(cartesianProduct(setup), adjustments);
  // All combinations skipped on purpose is fine; none to begin with is a mistake in the setup.
  if (combinations.length === 0 && !adjustments.some((adjustment) => adjustment.skip)) {
    throw inputError(path, "this matrix produces no combinations (every dimension needs at least one value)");
  }
  return combinations;
}

function optionalList(value: unknown, path: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  return requireList(value, path, "a list of adjustments");
}

function parseSetup(value: unknown, path: string): MatrixSetup {
  if (Array.isArray(value)) return anonymousSetup(value, path);
  const entries = mappingEntries(value, path);
  if (entries === undefined) {
    throw inputError(path, `expected a list of values or a mapping of dimensions, got ${describe(value)}`);
  }
  if (entries.length === 0) throw inputError(path, "expected at least one matrix dimension, got none");
  return namedSetup(entries, path);
}

function anonymousSetup(values: readonly unknown[], path: string): MatrixSetup {
  if (values.length === 0) throw inputError(path, "expected at least one matrix value, got an empty list");
  return { dimensions: [ANONYMOUS], values: new Map([[ANONYMOUS, elementTexts(values, path)]]) };
}

function namedSetup(entries: Entries, path: string): MatrixSetup {
  const values = new Map<string, readonly string[]>();
  for (const [dimension, list] of entries) {
    const dimensionPath = keyPath(path, dimension);
    if (!DIMENSION_NAME.test(dimension)) {
      throw inputError(dimensionPath, "a matrix dimension name may only hold letters, digits and `_`");
    }
    values.set(
      dimension,
      elementTexts(requireList(list, dimensionPath, "a list of matrix values"), dimensionPath),
    );
  }
  return { dimensions: [...values.keys()], values };
}

function elementTexts(values: readonly unknown[], path: string): string[] {
  return values.map((value, index) => elementText(value, indexPath(path, index)));
}

function elementText(value: unknown, path: string): string {
  const text = optionalScalarText(value, path, "a matrix value (string, number or boolean)");
  if (text === undefined)
    throw inputError(path, `expected a matrix value (string, number or boolean), got null`);
  return text;
}

function parseAdjustment(value: unknown, path: string, setup: MatrixSetup): Adjustment {
  const entries = mappingEntries(value, path);
  if (entries === undefined) {
    throw inputError(path, `expected an adjustment mapping (with, skip, soft_fail), got ${describe(value)}`);
  }
  for (const [key] of entries) {
    if (!ADJUSTMENT_KEYS.has(key)) {
      throw inputError(
        keyPath(path, key),
        "is not supported in a matrix adjustment (expected with, skip, soft_fail)",
      );
    }
  }
  return {
    combination: adjustmentCombination(lookup(entries, "with"), keyPath(path, "with"), setup),
    skip: adjustmentSkips(lookup(entries, "skip"), keyPath(path, "skip")),
  };
}

function adjustmentCombination(value: unknown, path: string, setup: MatrixSetup): MatrixCombination {
  if (value === undefined || value === null) throw inputError(path, "a matrix adjustment needs `with`");
  if (setup.dimensions[0] === ANONYMOUS) {
    if (Array.isArray(value) || mappingEntries(value, path) !== undefined) {
      throw inputError(
        path,
        `expected one value for this single-dimension matrix, got ${describe(value)}; write one adjustment per value`,
      );
    }
    return new Map([[ANONYMOUS, elementText(value, path)]]);
  }
  const entries = mappingEntries(value, path);
  if (entries === undefined) {
    throw inputError(path, `expected a mapping with a value for each dimension, got ${describe(value)}`);
  }
  const combination = new Map<string, string>();
  for (const [dimension, element] of entries) {
    if (!setup.values.has(dimension)) {
      throw inputError(
        keyPath(path, dimension),
        `is not a dimension of this matrix (${setup.dimensions.join(", ")})`,
      );
    }
    combination.set(dimension, elementText(element, keyPath(path, dimension)));
  }
  const missing = setup.dimensions.filter((dimension) => !combination.has(dimension));
  if (missing.length > 0) {
    throw inputError(path, `an adjustment must give every dimension a value; missing ${missing.join(", ")}`);
  }
  return orderedLike(setup, combination);
}

// Buildkite treats `skip: "a reason"` as skipped, like `skip: true` (go-pipeline `ShouldSkip`).
function adjustmentSkips(value: unknown, path: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "string") return true;
  throw inputError(path, `expected true, false or a reason, got ${describe(value)}`);
}

function orderedLike(setup: MatrixSetup, combination: ReadonlyMap<string, string>): MatrixCombination {
  return new Map(setup.dimensions.map((dimension) => [dimension, combination.get(dimension) ?? ""]));
}

function cartesianProduct(setup: MatrixSetup): MatrixCombination[] {
  let combinations: Array<Map<string, string>> = [new Map()];
  for (const dimension of setup.dimensions) {
    const values = setup.values.get(dimension) ?? [];
    combinations = combinations.flatMap((partial) =>
      values.map((value) => new Map([...partial, [dimension, value]])),
    );
  }
  return combinations;
}

function applyAdjustments(
  base: readonly MatrixCombination[],
  adjustments: readonly Adjustment[],
): MatrixCombination[] {
  const skipped = new Set(
    adjustments.filter((adjustment) => adjustment.skip).map((a) => identity(a.combination)),
  );
  const combinations = new Map<string, MatrixCombination>();
  for (const combination of base) combinations.set(identity(combination), combination);
  for (const adjustment of adjustments) {
    const id = identity(adjustment.combination);
    if (!adjustment.skip && !combinations.has(id)) combinations.set(id, adjustment.combination);
  }
  return [...combinations].filter(([id]) => !skipped.has(id)).map(([, combination]) => combination);
}

function identity(combination: MatrixCombination): string {
  return JSON.stringify([...combination]);
}

// go-pipeline's token: optional spaces, `matrix`, optionally `.` and a dimension name.
const MATRIX_TOKEN = /\{\{\s*matrix(\.[\w.-]+)?\s*\}\}/g;

export function hasMatrixToken(text: string): boolean {
  return new RegExp(MATRIX_TOKEN.source).test(text);
}

/** Replaces the matrix tokens in `text`; a token naming no dimension of this matrix is an error. */
export function interpolateMatrix(text: string, combination: MatrixCombination, path: string): string {
  return text.replace(MATRIX_TOKEN, (token, dotted: string | undefined) => {
    const value = combination.get(dotted === undefined ? ANONYMOUS : dotted.slice(1));
    if (value === undefined) {
      throw inputError(path, `unknown matrix token ${token}: this matrix has ${knownTokens(combination)}`);
    }
    return value;
  });
}

function knownTokens(combination: MatrixCombination): string {
  const tokens = [...combination.keys()].map((dimension) =>
    dimension === ANONYMOUS ? "{{matrix}}" : `{{matrix.${dimension}}}`,
  );
  return tokens.join(", ");
}

/**
 * Interpolates every string in a parsed YAML value, mapping keys included (go-pipeline does so for
 * plugin configuration and agents). Mappings come back as `Map`s in document order.
 */
export function interpolateMatrixDeep(value: unknown, combination: MatrixCombination, path: string): unknown {
  if (typeof value === "string") return interpolateMatrix(value, combination, path);
  if (Array.isArray(value)) {
    return value.map((item, index) => interpolateMatrixDeep(item, combination, indexPath(path, index)));
  }
  const entries = mappingEntries(value, path);
  if (entries === undefined) return value;
  return new Map(
    entries.map(([key, item]) => {
      const itemPath = keyPath(path, key);
      return [
        interpolateMatrix(key, combination, itemPath),
        interpolateMatrixDeep(item, combination, itemPath),
      ];
    }),
  );
}
