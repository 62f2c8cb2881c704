import { describe, expect, it } from "vitest";
import { fullPluginName } from "../../src/buildkite/plugin-names.ts";

describe("fullPluginName", () => {
  it.each([
    ["kubernetes", "github.com/buildkite-plugins/kubernetes-buildkite-plugin"],
    ["kubernetes#v1.0.0", "github.com/buildkite-plugins/kubernetes-buildkite-plugin#v1.0.0"],
    ["docker#v5.9.0", "github.com/buildkite-plugins/docker-buildkite-plugin#v5.9.0"],
    ["docker-compose#v4.14.0", "github.com/buildkite-plugins/docker-compose-buildkite-plugin#v4.14.0"],
    ["acme/deploy#v1", "github.com/acme/deploy-buildkite-plugin#v1"],
    ["acme/deploy", "github.com/acme/deploy-buildkite-plugin"],
    ["acme/deploy#main", "github.com/acme/deploy-buildkite-plugin#main"],
    ["docker#", "github.com/buildkite-plugins/docker-buildkite-plugin"],
    ["docker#v1:beta", "github.com/buildkite-plugins/docker-buildkite-plugin#v1:beta"],
  ])("expands the short name %s", (written, expected) => {
    expect(fullPluginName(written)).toBe(expected);
  });

  it.each([
    "github.com/buildkite-plugins/docker-buildkite-plugin#v5.9.0",
    "github.com/acme/deploy-buildkite-plugin",
    "gitlab.example.com/team/tools/lint-buildkite-plugin#v2",
    "https://github.com/acme/deploy-buildkite-plugin.git#v1.2.3",
    "ssh://git@github.com/acme/deploy-buildkite-plugin.git#v1",
    "git@github.com:acme/deploy-buildkite-plugin.git#v1",
    "file:///opt/plugins/deploy",
    "./.buildkite/plugins/x",
    "../shared/plugins/y",
    "/opt/buildkite/plugins/z",
    "\\\\server\\plugins\\w",
    "C:\\plugins\\v",
  ])("keeps the full location %s", (written) => {
    expect(fullPluginName(written)).toBe(written);
  });
});
