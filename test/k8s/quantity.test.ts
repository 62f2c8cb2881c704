import { expect, test } from "vitest";
import { isQuantity, quantityText, quantityValue } from "../../src/k8s/quantity.ts";

test.each([
  "1",
  "0",
  "100m",
  "0.5",
  ".5",
  "1.",
  "+1",
  "-1",
  "128Mi",
  "1Gi",
  "2Ei",
  "1e3",
  "1E-3",
  "500u",
  "10n",
  "2k",
  "3M",
  "1T",
  "1P",
  "1E",
])("%s is a quantity", (text) => {
  expect(isQuantity(text)).toBe(true);
});

test.each(["", ".", "Ki", "1.5.5", "1 Gi", "1gi", "1KiB", "one", "1e", "--1", "1m1"])(
  "%j is not a quantity",
  (text) => {
    expect(isQuantity(text)).toBe(false);
  },
);

test("a number written as a JSON number becomes its text", () => {
  expect(quantityText(0.5)).toBe("0.5");
  expect(quantityText(2)).toBe("2");
  expect(quantityText("2Gi")).toBe("2Gi");
});

test.each([
  ["100m", 0.1],
  ["0.5", 0.5],
  ["64Mi", 64 * 2 ** 20],
  ["1G", 1e9],
  ["2e3", 2000],
  ["1E-3", 0.001],
  ["500u", 0.0005],
  ["+1.5Ki", 1536],
  ["1E", 1e18],
  ["2Ei", 2 * 2 ** 60],
])("%s has the value %d", (text, value) => {
  expect(quantityValue(text)).toBeCloseTo(value, 9);
});

test("orders quantities written with different suffixes", () => {
  expect((quantityValue("50m") as number) < (quantityValue("0.1") as number)).toBe(true);
  expect((quantityValue("32Mi") as number) < (quantityValue("64M") as number)).toBe(true);
  expect(quantityValue("1gi")).toBeUndefined();
  // Requests are compared with limits by value: 1Gi is more than 1000Mi, less than 1100M.
  expect((quantityValue("1Gi") as number) > (quantityValue("1000Mi") as number)).toBe(true);
  expect((quantityValue("1Gi") as number) < (quantityValue("1100M") as number)).toBe(true);
});
