import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // Two cores: one worker each keeps the kubectl differential test from starving the rest.
    maxWorkers: 2,
  },
});
