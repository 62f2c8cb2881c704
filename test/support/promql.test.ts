import { describe, expect, it } from "vitest";
import { exposedFamilies, familyOf, promqlMetricNames } from "./promql.ts";

describe("promqlMetricNames", () => {
  it.each([
    ["up", ["up"]],
    [
      'sum by (outcome) (rate(jobs_total{namespace="$namespace", job=~"a|b"}[$__rate_interval]))',
      ["jobs_total"],
    ],
    ["histogram_quantile(0.95, sum by (le) (rate(latency_seconds_bucket[5m])))", ["latency_seconds_bucket"]],
    [
      "sum(rate(a_total[1h30m] offset 5m)) / ignoring(code) group_left(pod) sum(b_total)",
      ["a_total", "b_total"],
    ],
    ['max(in_flight{job="x"}) > 0 and on (pod) ready == bool 1', ["in_flight", "ready"]],
    ['{__name__="named_by_matcher", job="x"} + time() - Inf', ["named_by_matcher"]],
    [`min(expiry_seconds{pod=~"\${pod:regex}"}) - time()`, ["expiry_seconds"]],
    ['count(up{job="it has (parens) and {braces}"}) without (instance)', ["up"]],
    ["rate(x_total[5m:1m]) # a comment naming not_a_metric", ["x_total"]],
    ["sum(a:recorded:rate5m) * 1e3", ["a:recorded:rate5m"]],
  ])("finds the metrics of %s", (expression, metrics) => {
    expect(promqlMetricNames(expression)).toEqual({ metrics, problems: [] });
  });

  it.each([
    ["sum(rate(x_total[5m])", /never closed/],
    ["sum(x))", /closes nothing/],
    ['x{job="a}', /never closed/],
    ["rate(x[5m)", /never closed/],
  ])("says what is wrong with %s", (expression, problem) => {
    expect(promqlMetricNames(expression).problems.join("; ")).toMatch(problem);
  });
});

describe("familyOf", () => {
  const families = exposedFamilies(
    [
      "# HELP jobs_total jobs",
      "# TYPE jobs_total counter",
      "jobs_total 3",
      "# HELP wait_seconds waits",
      "# TYPE wait_seconds histogram",
      'wait_seconds_bucket{le="+Inf"} 0',
      "# TYPE gc_seconds summary",
    ].join("\n"),
  );

  it("reads the families of an exposition", () => {
    expect([...families]).toEqual([
      ["jobs_total", "counter"],
      ["wait_seconds", "histogram"],
      ["gc_seconds", "summary"],
    ]);
  });

  it("maps a series to its family, a histogram's through its _bucket, _sum and _count", () => {
    expect(familyOf("jobs_total", families)).toEqual({ family: "jobs_total" });
    for (const suffix of ["_bucket", "_sum", "_count"])
      expect(familyOf(`wait_seconds${suffix}`, families)).toEqual({ family: "wait_seconds" });
    expect(familyOf("gc_seconds", families)).toEqual({ family: "gc_seconds" });
    expect(familyOf("gc_seconds_count", families)).toEqual({ family: "gc_seconds" });
  });

  it("refuses a name nobody serves, a histogram's bare name and a summary's buckets", () => {
    expect(familyOf("jobs", families)).toEqual({ problem: "jobs is not a metric the stack serves" });
    expect(familyOf("wait_seconds", families)).toMatchObject({ problem: expect.stringMatching(/histogram/) });
    expect(familyOf("gc_seconds_bucket", families)).toMatchObject({ problem: expect.any(String) });
    expect(familyOf("jobs_total_count", families)).toMatchObject({ problem: expect.any(String) });
  });
});
