/**
 * The pod the process runs in, from the downward API (`POD_NAME`, `POD_NAMESPACE`, `POD_UID`, which the
 * chart sets). Read with the flags, before anything that talks to a cluster is loaded.
 */
export interface PodReference {
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string;
}

/** The pod from the downward API's variables, when they are set. */
export function podFromEnv(env: Readonly<Record<string, string | undefined>>): PodReference | undefined {
  const name = env.POD_NAME;
  const namespace = env.POD_NAMESPACE;
  if (!name || !namespace) return undefined;
  return { name, namespace, ...(env.POD_UID ? { uid: env.POD_UID } : {}) };
}
