import { describe, test } from "vitest";
import { MAP_CASES } from "./cases/maps.ts";
import { expectCase, rows } from "./support/cases.ts";

describe("strategic merge patch of objects", () => {
  test.each(rows(MAP_CASES))("%s", (_name, smpCase) => expectCase(smpCase));
});
