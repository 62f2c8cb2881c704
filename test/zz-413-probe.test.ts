import { connect } from "node:tls";
import { test } from "vitest";
import { startTestServer } from "./webhook/harness.ts";

/** Writes everything first (slowly), reads only afterwards: as a client that does not read while sending. */
function rawPost(port: number, ca: string, size: number, pauseMs: number, readWhileSending: boolean): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, async () => {
      if (!readWhileSending) socket.pause();
      socket.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      let sent = 0;
      try {
        while (sent < size) {
          const n = Math.min(chunk.length, size - sent);
          sent += n;
          const ok = socket.write(chunk.subarray(0, n));
          if (!ok) await new Promise((r) => socket.once("drain", r));
          if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
          if (socket.destroyed) break;
        }
      } catch {}
      socket.resume();
    });
    let text = "";
    socket.on("data", (d) => (text += d.toString()));
    socket.on("error", (e) => resolve(`error ${(e as any).code} after ${JSON.stringify(text.slice(0, 40))}`));
    socket.on("close", () => resolve(`closed: ${JSON.stringify(text.slice(0, 40))}`));
  });
}

test("probe", async () => {
  const server = await startTestServer({ bodyLimit: 100_000 });
  const results = [];
  for (const [pause, read] of [[0, false], [1, false], [0, true], [1, true]] as const)
    results.push(`${pause} ${read}: ` + (await rawPost(server.port, server.certificates.caCert, 2_000_000, pause, read)));
  console.log(results);
  await server.close();
}, 60_000);
