/**
 * The API server's service proxy, `GET /api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH`,
 * as kube-apiserver serves it: the Service must exist and have the port (by number or name; the
 * first one when none is given), the request goes to the backend the fake's `serviceUrl` resolves
 * (tests run backends on 127.0.0.1) without verifying its certificate, and the backend's answer comes
 * back as it is. A Service with no backend is 503 `no endpoints available`, one that cannot be
 * reached is 503 `error trying to reach service: …`.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { goError } from "./kubernetes-admission.ts";
import { asObject, type JsonObject } from "./kubernetes-rules.ts";
import { badRequest, serviceUnavailable } from "./kubernetes-status.ts";

export interface ServiceReference {
  readonly name: string;
  readonly namespace: string;
  readonly port: number;
  readonly path: string;
}

export interface ProxyTarget {
  readonly namespace: string;
  /** The path segment naming the service: `https:webhook:443`, `webhook`, `webhook:https`. */
  readonly service: string;
  /** What follows `/proxy`, with its leading `/`. */
  readonly path: string;
  readonly search: string;
}

export interface ProxyAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** `/api/v1/namespaces/NS/services/NAME/proxy/…` as a target; undefined for any other path. */
export function proxyTargetOf(url: URL): ProxyTarget | undefined {
  const match = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)?$/.exec(url.pathname);
  if (match === null) return undefined;
  return {
    namespace: decodeURIComponent(match[1] ?? ""),
    service: decodeURIComponent(match[2] ?? ""),
    path: match[3] ?? "/",
    search: url.search,
  };
}

export async function proxyToService(
  target: ProxyTarget,
  service: JsonObject,
  resolve: (service: ServiceReference) => string | undefined,
  timeoutMs = 30_000,
): Promise<ProxyAnswer> {
  const parts = target.service.split(":");
  const [scheme, name, portText] = parts.length === 3 ? parts : ["", parts[0], parts[1]];
  if (scheme !== "" && scheme !== "http" && scheme !== "https") {
    throw badRequest(`invalid service request ${JSON.stringify(target.service)}: unknown scheme ${scheme}`);
  }
  const ports = (
    Array.isArray(asObject(service.spec).ports) ? (asObject(service.spec).ports as unknown[]) : []
  ).map(asObject);
  const port =
    portText === undefined || portText === ""
      ? ports[0]
      : ports.find((candidate) => String(candidate.port) === portText || candidate.name === portText);
  if (port === undefined) {
    throw serviceUnavailable(`no service port ${JSON.stringify(portText ?? "")} found for service "${name}"`);
  }
  const url = resolve({
    name: name ?? "",
    namespace: target.namespace,
    port: Number(port.port),
    path: target.path,
  });
  if (url === undefined) throw serviceUnavailable(`no endpoints available for service "${name}"`);
  try {
    return await get(`${url}${target.search}`, timeoutMs);
  } catch (error) {
    throw serviceUnavailable(`error trying to reach service: ${goError(error)}`);
  }
}

function get(url: string, timeoutMs: number): Promise<ProxyAnswer> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = send(
      url,
      { method: "GET", rejectUnauthorized: false, signal: AbortSignal.timeout(timeoutMs) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 502,
            contentType: res.headers["content-type"] ?? "text/plain",
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}
