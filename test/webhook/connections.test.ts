/**
 * Clients that are still sending when the webhook answers them: a body over the limit, a malformed
 * request pipelined after a valid one, a refused body that never ends. The client here writes all it
 * has before it reads anything, as simple HTTP clients do; if the server closed the connection while
 * bytes were still arriving, the kernel's reset would discard the answer before the client read it.
 */
import { connect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildSkeleton } from "../../src/admission/skeleton.ts";
import { admissionReview, testConfig, testJob } from "../support/fixtures.ts";
import { startTestServer, type TestServer } from "./harness.ts";

const LIMIT = 64 * 1024;
const reviewBody = JSON.stringify(admissionReview(buildSkeleton(testJob(), testConfig()), "valid-uid"));

function post(body: string, headers: Record<string, string | number> = {}): string {
  const all = { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers };
  const lines = Object.entries(all).map(([name, value]) => `${name}: ${value}\r\n`);
  return `POST /mutate HTTP/1.1\r\nhost: localhost\r\n${lines.join("")}\r\n${body}`;
}

interface Exchange {
  /** Everything the server sent. */
  readonly received: string;
  /** How the connection ended: the server closed it cleanly, reset it, or is still keeping it. */
  readonly end: "closed" | "reset" | "open";
  /** Bytes written before the connection ended. */
  readonly written: number;
  readonly socket: TLSSocket;
}

/**
 * Writes `head`, then `filler` bytes of body in 16 KiB pieces, and only then reads; resolves once the
 * connection ends, or `quietMs` after the last byte received.
 */
function sendThenRead(
  webhook: TestServer,
  head: string,
  filler: number,
  options: { quietMs?: number; stall?: boolean } = {},
): Promise<Exchange> {
  return new Promise((resolve) => {
    let received = "";
    let written = 0;
    let settled = false;
    let quiet: NodeJS.Timeout | undefined;
    const socket = connect({
      host: "127.0.0.1",
      port: webhook.port,
      ca: webhook.certificates.caCert,
      servername: "localhost",
    });
    const settle = (end: Exchange["end"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(quiet);
      resolve({ received, end, written, socket });
    };
    const listen = () => {
      quiet = setTimeout(() => settle("open"), options.quietMs ?? 1_000);
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("utf8");
        clearTimeout(quiet);
        quiet = setTimeout(() => settle("open"), options.quietMs ?? 1_000);
      });
      socket.resume();
    };
    socket.on("error", (error: NodeJS.ErrnoException) =>
      settle(error.code === "ECONNRESET" || error.code === "EPIPE" ? "reset" : "closed"),
    );
    socket.on("close", () => settle("closed"));
    socket.once("secureConnect", async () => {
      socket.pause();
      socket.write(head);
      written += Buffer.byteLength(head);
      const piece = Buffer.alloc(16 * 1024, 0x20);
      while (written - Buffer.byteLength(head) < filler && !socket.destroyed) {
        const size = Math.min(piece.length, filler - (written - Buffer.byteLength(head)));
        written += size;
        if (!socket.write(piece.subarray(0, size)))
          await new Promise((resolve) => socket.once("drain", resolve));
      }
      if (!options.stall) socket.end();
      listen();
    });
  });
}

function responses(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1] as string);
}

describe("answered while still sending", () => {
  let webhook: TestServer;
  beforeAll(async () => {
    webhook = await startTestServer({ bodyLimit: LIMIT, requestTimeoutMs: 2_000 });
  });
  afterAll(() => webhook.close());

  test("a body over the limit, announced by Content-Length, gets its 413; the connection then serves the next request", async () => {
    const size = 3 * LIMIT;
    const exchange = await sendThenRead(webhook, post("", { "content-length": size }), size, {
      quietMs: 300,
      stall: true,
    });
    expect(exchange.end).toBe("open");
    expect(responses(exchange.received)).toEqual(["413"]);
    expect(exchange.received).toContain(`the body is larger than the limit of ${LIMIT} bytes`);

    // Kept alive: the body was read to its end, so the next request on the connection is understood.
    const next = await new Promise<string>((resolve) => {
      let text = "";
      exchange.socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
        if (text.includes('"uid":"valid-uid"')) resolve(text);
      });
      exchange.socket.write(post(reviewBody));
    });
    expect(responses(next)).toEqual(["200"]);
    exchange.socket.destroy();
  });

  test("a body far past what is worth reading is cut: the server does not read on without end", async () => {
    const size = 40 * LIMIT;
    const exchange = await sendThenRead(webhook, post("", { "content-length": size }), size);
    expect(exchange.end).not.toBe("open");
    expect(exchange.written).toBeLessThan(size + 1024);
    const metrics = await webhook.client.get("/metrics");
    expect(metrics.body).toMatch(/agent_stack_k8s_webhook_requests_total\{result="bad_request"\} [1-9]/);
  });

  test("a malformed request pipelined after a valid one: the valid one is answered, then a 400, then a clean close", async () => {
    const exchange = await sendThenRead(webhook, `${post(reviewBody)}NOT HTTP AT ALL\r\n\r\n`, 256 * 1024);
    expect(exchange.end).toBe("closed");
    expect(responses(exchange.received)).toEqual(["200", "400"]);
    expect(exchange.received).toContain("malformed HTTP request");
  });

  test("a refused body that never ends is cut at the request timeout, without a second answer", async () => {
    const exchange = await sendThenRead(
      webhook,
      post("x".repeat(100), { "content-type": "text/plain", "content-length": 10_000 }),
      0,
      {
        stall: true,
        quietMs: 4_000,
      },
    );
    expect(exchange.end).not.toBe("open");
    expect(responses(exchange.received)).toEqual(["415"]);
  });
});
