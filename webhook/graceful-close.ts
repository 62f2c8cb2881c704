/**
 * Answering a client that is still sending, without it seeing a connection reset. A socket closed while
 * its peer keeps sending makes the kernel answer the late bytes with RST, and a client that reads only
 * once it has sent everything then loses the answer waiting in its receive buffer: a 413 for a body over
 * the limit, or a 400 for a malformed pipelined request, would arrive as "connection reset".
 *
 * - A request answered before its body was read (too large, wrong content type) keeps its connection:
 *   the rest of the body is read and dropped, then the connection serves the next request as usual.
 *   Past `maxBytes` or the request's remaining time budget, it is cut.
 * - A connection whose HTTP stream cannot be parsed any more (malformed request, request timeout) is
 *   answered once the responses already under way have gone, then half-closed: its answer and a FIN go
 *   out, incoming bytes are dropped until the client closes too, or `lingerMs` has passed.
 *
 * Node's HTTP server keeps the response in flight on a socket as `socket._httpMessage`; nothing public
 * says whether one is under way.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** Sockets whose request was answered early and whose body is being dropped. */
const draining = new WeakSet<Duplex>();
/** Sockets whose HTTP stream is broken: answered (or about to be) and half-closed. */
const closing = new WeakSet<Duplex>();

export interface DrainBounds {
  /** Bytes of body to drop at most before the connection is cut. */
  readonly maxBytes: number;
  /** How long the rest of the body may take to arrive. */
  readonly timeoutMs: number;
}

/**
 * Drops what is left of a request's body, so that the answer sent before it arrived is read; returns
 * false when there is nothing left (the body was read: the connection needs nothing special).
 */
export function drainUnreadBody(request: IncomingMessage, bounds: DrainBounds): boolean {
  if (request.complete || request.destroyed) return false;
  const socket = request.socket;
  draining.add(socket);
  let dropped = 0;
  const cut = () => {
    stop();
    socket.destroy();
  };
  const timer = setTimeout(cut, Math.max(0, bounds.timeoutMs));
  const onData = (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > bounds.maxBytes) cut();
  };
  const stop = () => {
    clearTimeout(timer);
    draining.delete(socket);
    request.off("data", onData);
  };
  request.on("data", onData);
  request.once("end", stop);
  request.once("close", stop);
  request.resume();
  return true;
}

/** The socket's current request was answered early and its body is being dropped. */
export function isDraining(socket: Duplex): boolean {
  return draining.has(socket);
}

/** The socket was already answered and is being closed. */
export function isClosing(socket: Duplex): boolean {
  return closing.has(socket);
}

export interface CloseOptions {
  readonly lingerMs: number;
  /**
   * Wait for the responses under way (a valid request pipelined before a malformed one still gets its
   * answer first); false when the response under way belongs to the request being refused (a timeout).
   */
  readonly afterResponsesUnderWay: boolean;
}

/**
 * For a connection whose HTTP stream is broken: stops parsing, writes `response` (once the responses
 * under way have been sent, if asked), then half-closes and drops whatever else arrives until the
 * client closes or `lingerMs` passes.
 */
export function answerAndClose(socket: Duplex, response: string, options: CloseOptions): void {
  if (closing.has(socket)) return;
  closing.add(socket);
  // Whatever arrives now is neither parsed (the parser would report the same error again) nor kept,
  // and the client's end no longer ends the connection from the HTTP server's side: it is ours now.
  socket.removeAllListeners("data");
  socket.removeAllListeners("end");
  socket.allowHalfOpen = true;
  socket.on("data", () => {});
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), options.lingerMs);
  socket.once("close", () => clearTimeout(timer));
  let clientDone = false;
  let answered = false;
  socket.once("end", () => {
    clientDone = true;
    if (answered) socket.destroy();
  });
  const answer = () => {
    answered = true;
    if (socket.destroyed) return;
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(response, () => {
      if (clientDone) socket.destroy();
    });
  };
  if (options.afterResponsesUnderWay) afterResponsesUnderWay(socket, answer);
  else answer();
}

function afterResponsesUnderWay(socket: Duplex, then: () => void): void {
  const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (current === undefined || current === null || current.writableFinished || current.destroyed) {
    then();
    return;
  }
  // "close" follows "finish", and comes alone when the response is abandoned.
  current.once("close", () => setImmediate(() => afterResponsesUnderWay(socket, then)));
}
