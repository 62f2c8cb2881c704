/**
 * The GraphQL documents the launcher sends to Buildkite: the operations upstream v0.26.0 sends
 * (controller-runtime.md §4.3), with the same operation names, and one field more, `scheduledAt`, for
 * the scheduled-to-created latency the launcher reports.
 * `test/launcher/buildkite/queries.test.ts` validates every one against `reference/buildkite/schema.graphql`.
 *
 * With order `RECENTLY_CREATED` (newest first), `last: N` returns the N *oldest* scheduled jobs, and
 * `before: startCursor` walks toward newer ones: the oldest jobs are served first.
 */

const JOB_FRAGMENTS = `
fragment Job on Job {
  ... on JobTypeCommand {
    ...CommandJob
  }
}

fragment CommandJob on JobTypeCommand {
  uuid
  env
  priority {
    number
  }
  agentQueryRules
  command
  scheduledAt
}
`;

export const GET_SCHEDULED_JOBS = `
query GetScheduledJobs($slug: ID!, $agentQueryRules: [String!], $last: Int!, $cursor: String) {
  organization(slug: $slug) {
    id
    jobs(
      state: [SCHEDULED]
      type: [COMMAND]
      last: $last
      order: RECENTLY_CREATED
      agentQueryRules: $agentQueryRules
      clustered: false
      before: $cursor
    ) {
      count
      edges {
        node {
          __typename
          ...Job
        }
      }
      pageInfo {
        hasPreviousPage
        startCursor
      }
    }
  }
}
${JOB_FRAGMENTS}`;

export const GET_SCHEDULED_JOBS_CLUSTERED = `
query GetScheduledJobsClustered($slug: ID!, $agentQueryRules: [String!], $cluster: ID!, $last: Int!, $cursor: String) {
  organization(slug: $slug) {
    id
    jobs(
      state: [SCHEDULED]
      type: [COMMAND]
      last: $last
      order: RECENTLY_CREATED
      agentQueryRules: $agentQueryRules
      cluster: $cluster
      before: $cursor
    ) {
      count
      edges {
        node {
          __typename
          ...Job
        }
      }
      pageInfo {
        hasPreviousPage
        startCursor
      }
    }
  }
}
${JOB_FRAGMENTS}`;

export const GET_CLUSTER_QUEUES = `
query GetClusterQueues($slug: ID!, $cluster: ID!, $first: Int!) {
  organization(slug: $slug) {
    cluster(id: $cluster) {
      queues(first: $first) {
        edges {
          node {
            key
            dispatchPaused
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
}
`;

export const GET_COMMAND_JOB = `
query GetCommandJob($uuid: ID!) {
  job(uuid: $uuid) {
    __typename
    ... on JobTypeCommand {
      id
      state
    }
  }
}
`;

/** The most jobs one `GetCommandJobStates` asks for. */
export const JOB_STATES_BATCH = 100;

/**
 * `GetCommandJob` for many jobs in one request, one alias per job: upstream asked once per job and per
 * interval, which for a burst of waiting Jobs is hundreds of queries a second (HEAD batches too).
 */
export function getCommandJobStates(count: number): string {
  const variables = Array.from({ length: count }, (_, i) => `$u${i}: ID!`).join(", ");
  const fields = Array.from(
    { length: count },
    (_, i) =>
      `  j${i}: job(uuid: $u${i}) {\n    __typename\n    ... on JobTypeCommand {\n      uuid\n      state\n    }\n  }`,
  ).join("\n");
  return `\nquery GetCommandJobStates(${variables}) {\n${fields}\n}\n`;
}

export const CANCEL_COMMAND_JOB = `
mutation CancelCommandJob($input: JobTypeCommandCancelInput!) {
  jobTypeCommandCancel(input: $input) {
    clientMutationId
  }
}
`;

/** Every operation, by its name: what the validation test and the fake's call log refer to. */
export const OPERATIONS = {
  GetScheduledJobs: GET_SCHEDULED_JOBS,
  GetScheduledJobsClustered: GET_SCHEDULED_JOBS_CLUSTERED,
  GetClusterQueues: GET_CLUSTER_QUEUES,
  GetCommandJob: GET_COMMAND_JOB,
  GetCommandJobStates: getCommandJobStates(3),
  CancelCommandJob: CANCEL_COMMAND_JOB,
} as const;

/** `GetScheduledJobs` / `GetScheduledJobsClustered`, as far as the launcher reads it. */
export interface ScheduledJobsResponse {
  readonly organization: {
    readonly id: string | null;
    readonly jobs: {
      readonly count: number;
      readonly edges: ReadonlyArray<{ readonly node: unknown } | null> | null;
      readonly pageInfo: { readonly hasPreviousPage: boolean; readonly startCursor: string | null } | null;
    } | null;
  } | null;
}

export interface ClusterQueuesResponse {
  readonly organization: {
    readonly cluster: {
      readonly queues: {
        readonly edges: ReadonlyArray<{
          readonly node: { readonly key: string; readonly dispatchPaused: boolean } | null;
        } | null> | null;
      } | null;
    } | null;
  } | null;
}

export interface CommandJobResponse {
  readonly job: { readonly __typename: string; readonly id?: string; readonly state?: string } | null;
}

export interface CancelCommandJobResponse {
  readonly jobTypeCommandCancel: { readonly clientMutationId: string | null } | null;
}
