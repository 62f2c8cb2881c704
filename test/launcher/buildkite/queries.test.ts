/** The launcher's GraphQL documents are ones Buildkite accepts: valid against its schema, named as upstream. */
import { Kind, parse, validate } from "graphql";
import { expect, test } from "vitest";
import { OPERATIONS } from "../../../launcher/buildkite/queries.ts";
import { buildkiteSchema } from "../../fakes/buildkite/graphql.ts";

test.each(Object.entries(OPERATIONS))("%s validates against Buildkite's schema", (name, document) => {
  const parsed = parse(document);
  expect(validate(buildkiteSchema(), parsed).map((error) => error.message)).toEqual([]);
  const operations = parsed.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  expect(operations.map((operation) => operation.name?.value)).toEqual([name]);
});

test("the scheduled-jobs queries differ only in the cluster filter", () => {
  const unclustered = OPERATIONS.GetScheduledJobs.replace(/\s+/g, " ");
  const clustered = OPERATIONS.GetScheduledJobsClustered.replace(/\s+/g, " ");
  expect(unclustered).toContain("clustered: false");
  expect(clustered).toContain("cluster: $cluster");
  expect(clustered).not.toContain("clustered:");
  for (const document of [unclustered, clustered]) {
    expect(document).toContain("state: [SCHEDULED] type: [COMMAND] last: $last order: RECENTLY_CREATED");
    expect(document).toContain("pageInfo { hasPreviousPage startCursor }");
    expect(document).toContain(
      "fragment CommandJob on JobTypeCommand { uuid env priority { number } agentQueryRules command scheduledAt }",
    );
  }
});
