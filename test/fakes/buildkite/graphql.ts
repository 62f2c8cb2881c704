/**
 * The fake's GraphQL face: documents are parsed, validated and executed by graphql-js against
 * Buildkite's real schema (`reference/buildkite/schema.graphql`), so an unknown field, a wrong argument or
 * a variable of the wrong type fails as it would on graphql.buildkite.com. Field resolvers read the
 * store: `organization(slug)`, its `jobs(…)` and `cluster(id).queues`, `job(uuid)` and the
 * `jobTypeCommandCancel` mutation. Everything else in the schema resolves to null.
 */
import { readFileSync } from "node:fs";
import {
  buildSchema,
  type DocumentNode,
  execute,
  type GraphQLError,
  type GraphQLSchema,
  Kind,
  parse,
  validate,
} from "graphql";
import type { JobState } from "../../../launcher/types.ts";
import type { FakeStore, StoredJob, StoredQueue } from "./store.ts";

const SCHEMA_PATH = new URL("../../../reference/buildkite/schema.graphql", import.meta.url);

/** Buildkite's connections serve at most this many nodes per page (graphql-ruby's `max_page_size`). */
const MAX_PAGE_SIZE = 500;

/** States from which `jobTypeCommandCancel` cancels a job. */
const CANCELABLE: ReadonlySet<JobState> = new Set<JobState>([
  "PENDING",
  "WAITING",
  "LIMITED",
  "LIMITING",
  "BLOCKED",
  "UNBLOCKED",
  "SCHEDULED",
  "RESERVED",
  "ASSIGNED",
  "ACCEPTED",
  "RUNNING",
]);

const TYPENAMES = {
  COMMAND: "JobTypeCommand",
  WAIT: "JobTypeWait",
  BLOCK: "JobTypeBlock",
  TRIGGER: "JobTypeTrigger",
} as const;

let schema: GraphQLSchema | undefined;

/** Built once per process: about 60 ms for Buildkite's schema. */
export function buildkiteSchema(): GraphQLSchema {
  schema ??= buildSchema(readFileSync(SCHEMA_PATH, "utf8"));
  return schema;
}

export interface GraphqlOutcome {
  readonly operation: string;
  readonly result: { data?: unknown; errors?: ReadonlyArray<{ message: string }> };
}

interface PreparedDocument {
  readonly document: DocumentNode | undefined;
  readonly errors: readonly GraphQLError[];
}

export class FakeGraphql {
  readonly #store: FakeStore;
  readonly #org: string;
  /** Parsed and validated documents by text: the launcher sends the same few over and over. */
  readonly #prepared = new Map<string, PreparedDocument>();

  constructor(store: FakeStore, org: string) {
    this.#store = store;
    this.#org = org;
  }

  /** The operation a request names, for the call log and fault matching, before it runs. */
  operationOf(query: string, operationName: string | undefined): string {
    if (operationName) return operationName;
    const document = this.#prepare(query).document;
    const operations = document?.definitions.filter(
      (definition) => definition.kind === Kind.OPERATION_DEFINITION,
    );
    const only = operations?.length === 1 ? operations[0] : undefined;
    return only?.kind === Kind.OPERATION_DEFINITION && only.name ? only.name.value : "anonymous";
  }

  run(
    query: string,
    variables: Record<string, unknown> | undefined,
    operationName: string | undefined,
  ): GraphqlOutcome {
    const operation = this.operationOf(query, operationName);
    const prepared = this.#prepare(query);
    if (prepared.document === undefined || prepared.errors.length > 0) {
      return { operation, result: { errors: prepared.errors.map((error) => error.toJSON()) } };
    }
    const result = execute({
      schema: buildkiteSchema(),
      document: prepared.document,
      rootValue: this.#root(),
      variableValues: variables ?? {},
      operationName: operationName ?? null,
    });
    if (result instanceof Promise) throw new Error("fake Buildkite: resolvers must be synchronous");
    const errors = result.errors?.map((error) => error.toJSON());
    return {
      operation,
      result: errors === undefined ? { data: result.data } : { data: result.data, errors },
    };
  }

  #prepare(query: string): PreparedDocument {
    let prepared = this.#prepared.get(query);
    if (prepared === undefined) {
      let document: DocumentNode | undefined;
      let errors: readonly GraphQLError[];
      try {
        document = parse(query);
        errors = validate(buildkiteSchema(), document);
      } catch (error) {
        errors = [error as GraphQLError];
      }
      prepared = { document, errors };
      this.#prepared.set(query, prepared);
    }
    return prepared;
  }

  #root(): Record<string, unknown> {
    return {
      organization: (args: { slug?: string | null; uuid?: string | null }) =>
        args.slug === this.#org ? this.#organization() : null,
      job: (args: { uuid: string }) => {
        const job = this.#store.jobs.get(args.uuid);
        return job === undefined ? null : jobView(job);
      },
      jobTypeCommandCancel: (args: { input: { clientMutationId?: string | null; id: string } }) =>
        this.#cancel(args.input),
    };
  }

  #organization(): Record<string, unknown> {
    const org = this.#org;
    return {
      id: graphqlId("Organization", org),
      uuid: "01900000-0000-4000-8000-0000000000aa",
      slug: org,
      name: org,
      jobs: (args: JobsArgs) => this.#jobs(args),
      cluster: (args: { id: string }) => {
        const uuid = decodeGraphqlId("Cluster", args.id);
        const queues = uuid === undefined ? undefined : this.#store.clusters.get(uuid);
        return uuid === undefined || queues === undefined ? null : clusterView(uuid, queues);
      },
    };
  }

  #jobs(args: JobsArgs): Connection {
    const clusterUuid =
      args.cluster === undefined || args.cluster === null
        ? undefined
        : decodeGraphqlId("Cluster", args.cluster);
    const rules = args.agentQueryRules ?? [];
    const jobs = [...this.#store.jobs.values()].filter((job) => {
      if (args.state && !args.state.includes(job.state)) return false;
      if (args.type && !args.type.includes(job.type)) return false;
      // The API returns the jobs that match *any* of the rules it is given.
      if (rules.length > 0 && !(job.agentQueryRules ?? []).some((rule) => rules.includes(rule))) return false;
      if (args.cluster !== undefined && args.cluster !== null && job.cluster !== clusterUuid) return false;
      if (args.clustered === false && job.cluster !== undefined) return false;
      return true;
    });
    // Both orders put the newest first; the fake has no assignment times of its own.
    jobs.sort((a, b) => b.createdSeq - a.createdSeq);
    return paginate(
      jobs.map((job) => ({ seq: job.createdSeq, node: jobView(job) })),
      args,
    );
  }

  #cancel(input: { clientMutationId?: string | null; id: string }): Record<string, unknown> {
    const uuid = decodeGraphqlId("JobTypeCommand", input.id) ?? input.id;
    const job = this.#store.jobs.get(uuid);
    if (job === undefined || job.type !== "COMMAND")
      throw new Error(`No job found with id ${JSON.stringify(input.id)}`);
    if (!CANCELABLE.has(job.state)) {
      throw new Error(`Job can't be canceled because its state is ${job.state.toLowerCase()}`);
    }
    job.state = "CANCELED";
    return { clientMutationId: input.clientMutationId ?? null, jobTypeCommand: jobView(job) };
  }
}

interface PageArgs {
  readonly first?: number | null;
  readonly last?: number | null;
  readonly after?: string | null;
  readonly before?: string | null;
}

interface JobsArgs extends PageArgs {
  readonly state?: readonly JobState[] | null;
  readonly type?: readonly string[] | null;
  readonly agentQueryRules?: readonly string[] | null;
  readonly cluster?: string | null;
  readonly clustered?: boolean | null;
}

interface Connection {
  readonly count: number;
  readonly edges: ReadonlyArray<{ cursor: string; node: unknown }>;
  readonly nodes: readonly unknown[];
  readonly pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

/**
 * Relay cursor pagination over items already in the connection's order. A cursor names an item by its
 * sequence number, so it keeps its place when items before it come or go.
 */
function paginate(items: ReadonlyArray<{ seq: number; node: unknown }>, args: PageArgs): Connection {
  const position = (cursor: string): number => {
    const seq = decodeCursor(cursor);
    const index = items.findIndex((item) => item.seq === seq);
    if (index >= 0) return index;
    // The item is gone: its place is where its sequence number would sort (newest first).
    const after = items.findIndex((item) => item.seq < seq);
    return (after < 0 ? items.length : after) - 0.5;
  };
  let start = 0;
  let end = items.length;
  if (args.after) start = Math.max(start, Math.floor(position(args.after)) + 1);
  if (args.before) end = Math.min(end, Math.ceil(position(args.before)));
  let slice = items.slice(start, Math.max(start, end));
  let hasNextPage = false;
  let hasPreviousPage = false;
  for (const [name, value] of [
    ["first", args.first],
    ["last", args.last],
  ] as const) {
    if (value !== undefined && value !== null && value < 0)
      throw new Error(`Argument '${name}' must be non-negative`);
  }
  if (args.first !== undefined && args.first !== null) {
    const first = Math.min(args.first, MAX_PAGE_SIZE);
    hasNextPage = slice.length > first;
    slice = slice.slice(0, first);
  }
  if (args.last !== undefined && args.last !== null) {
    const last = Math.min(args.last, MAX_PAGE_SIZE);
    hasPreviousPage = slice.length > last;
    slice = last === 0 ? [] : slice.slice(-last);
  }
  const edges = slice.map((item) => ({ cursor: encodeCursor(item.seq), node: item.node }));
  return {
    count: items.length,
    edges,
    nodes: edges.map((edge) => edge.node),
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

function encodeCursor(seq: number): string {
  return Buffer.from(`cursor:${seq}`).toString("base64");
}

function decodeCursor(cursor: string): number {
  const match = /^cursor:(\d+)$/.exec(Buffer.from(cursor, "base64").toString("utf8"));
  if (match === null) throw new Error(`Invalid cursor ${JSON.stringify(cursor)}`);
  return Number(match[1]);
}

/** Buildkite's GraphQL IDs: base64 of `<Type>---<uuid>`. */
export function graphqlId(type: string, uuid: string): string {
  return Buffer.from(`${type}---${uuid}`).toString("base64");
}

function decodeGraphqlId(type: string, id: string): string | undefined {
  const decoded = Buffer.from(id, "base64").toString("utf8");
  return decoded.startsWith(`${type}---`) ? decoded.slice(type.length + 3) : undefined;
}

function jobView(job: StoredJob): Record<string, unknown> {
  const typename = TYPENAMES[job.type];
  const common = {
    __typename: typename,
    id: graphqlId(typename, job.uuid),
    uuid: job.uuid,
    state: job.state,
    label: null,
    retried: false,
  };
  if (job.type !== "COMMAND") return common;
  return {
    ...common,
    command: job.command,
    env: job.env,
    agentQueryRules: job.agentQueryRules,
    priority: { number: job.priority },
    scheduledAt: job.scheduledAt,
    exitStatus: job.exitStatus ?? null,
    passed: job.state === "FINISHED" && job.exitStatus === "0",
    softFailed: false,
    url: `https://buildkite.com/fake/pipeline/builds/1#${job.uuid}`,
  };
}

function clusterView(uuid: string, queues: ReadonlyMap<string, StoredQueue>): Record<string, unknown> {
  return {
    id: graphqlId("Cluster", uuid),
    uuid,
    name: `cluster ${uuid}`,
    queues: (args: PageArgs & { order?: "KEY" | "RECENTLY_CREATED" | null }) => {
      const ordered = [...queues.values()].sort((a, b) =>
        args.order === "RECENTLY_CREATED" ? b.createdSeq - a.createdSeq : a.key.localeCompare(b.key),
      );
      return paginate(
        ordered.map((queue) => ({
          seq: queue.createdSeq,
          node: {
            id: graphqlId("ClusterQueue", `${uuid}/${queue.key}`),
            uuid: `${uuid}-${queue.key}`,
            key: queue.key,
            dispatchPaused: queue.dispatchPaused,
            hosted: false,
          },
        })),
        args,
      );
    },
  };
}
