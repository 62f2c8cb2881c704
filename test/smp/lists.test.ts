import { describe, test } from "vitest";
import { LIST_CASES } from "./cases/lists.ts";
import { expectCase, rows } from "./support/cases.ts";

describe("strategic merge patch of lists", () => {
  test.each(rows(LIST_CASES))("%s", (_name, smpCase) => expectCase(smpCase));
});
