#!/usr/bin/env node
// A streamable-HTTP MCP server for joey's MCP client tests, strict about the headers
// a client must send. Listens on 127.0.0.1:$PORT, path /mcp, and prints
// "listening" once ready.
//   initialize          JSON answer, a new Mcp-Session-Id
//   tools/list          SSE answer: a notification, then the response; the stream
//                       is then left open (the client must stop reading by itself)
//   tools/call echo     JSON answer with the message
//   tools/call expire   answers, then forgets the session (later requests get 404)
//   tools/call ask      SSE: asks the client "ping" on the stream and answers with
//                       the client's reply once it arrives (as a separate POST)
//   tools/call stats    counts of initializations and session deletions, and of the
//                       GET stream: GETs, the Last-Event-ID of each, answers to "ask-get"
//
// The GET stream (server-initiated messages): a GET with Accept: text/event-stream
// and a known session opens it; each event carries an id. With --no-get every GET
// is answered 405 (counted all the same). On the session's open GET stream:
//   tools/call announce {add}  adds tool `add` (if given), sends tools/list_changed
//   tools/call ask-get         sends a ping request; the client's answer is recorded
//   tools/call garbage         sends an event whose data is not JSON, then list_changed
//   tools/call oversized       sends one event larger than 16 MiB; a client that then
//                              reconnects with Last-Event-ID gets list_changed at once
//   tools/call drop            ends the GET stream
// Each answers {"sent": true} when a GET stream was open.
"use strict";
const http = require("http");

const noGet = process.argv.includes("--no-get");
const sessions = new Set();
let nextSession = 1;
let initializations = 0;
let deletes = 0;
const waitingAsks = new Map();
const openStreams = [];
const getStreams = new Map();  // session → response
const getLastEventIds = [];
const getAnswers = [];
let gets = 0;
let nextEventId = 1;
const tools = [{ name: "echo", inputSchema: { type: "object" } }];

function json(res, status, body, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

function rpcResult(id, result) {
  return { jsonrpc: "2.0", id, result };
}

function sseStart(res) {
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
}

function sseSend(res, message) {
  res.write("event: message\ndata: " + JSON.stringify(message) + "\n\n");
}

function getSend(session, message) {
  const stream = getStreams.get(session);
  if (!stream) return false;
  stream.write("id: " + nextEventId++ + "\nevent: message\ndata: " + JSON.stringify(message) + "\n\n");
  return true;
}

const listChanged = { jsonrpc: "2.0", method: "notifications/tools/list_changed" };

function handleGet(req, res) {
  gets++;
  getLastEventIds.push(req.headers["last-event-id"] || null);
  if (noGet) return json(res, 405, { error: "no GET stream here" });
  if (!(req.headers["accept"] || "").includes("text/event-stream")) {
    return json(res, 406, { error: "Accept must list text/event-stream" });
  }
  const session = req.headers["mcp-session-id"];
  if (!session) return json(res, 400, { error: "no session" });
  if (!sessions.has(session)) return json(res, 404, { error: "unknown session" });
  if (req.headers["mcp-protocol-version"] !== "2025-06-18") {
    return json(res, 400, { error: "MCP-Protocol-Version header missing or wrong" });
  }
  if (getStreams.has(session)) return json(res, 409, { error: "one GET stream per session" });
  sseStart(res);
  res.flushHeaders();
  getStreams.set(session, res);
  res.on("close", () => {
    if (getStreams.get(session) === res) getStreams.delete(session);
  });
  if (req.headers["last-event-id"]) getSend(session, listChanged);
}

function handleGetStreamTool(session, name, args) {
  const stream = getStreams.get(session);
  if (!stream) return false;
  if (name === "announce") {
    if (args.add) tools.push({ name: args.add, inputSchema: { type: "object" } });
    getSend(session, listChanged);
  } else if (name === "ask-get") {
    const askId = "get-ask-" + nextEventId;
    waitingAsks.set(askId, (reply) => getAnswers.push(reply));
    getSend(session, { jsonrpc: "2.0", id: askId, method: "ping" });
  } else if (name === "garbage") {
    stream.write("id: " + nextEventId++ + "\nevent: message\ndata: this is not JSON-RPC\n\n");
    getSend(session, listChanged);
  } else if (name === "oversized") {
    stream.write("id: " + nextEventId++ + "\nevent: message\ndata: " +
                 "x".repeat(17 * 1024 * 1024) + "\n\n");
  } else if (name === "drop") {
    getStreams.delete(session);
    stream.end();
  }
  return true;
}

function handlePost(req, res, message) {
  const accept = req.headers["accept"] || "";
  if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
    return json(res, 406, { error: "Accept must list application/json and text/event-stream" });
  }
  if (!(req.headers["content-type"] || "").startsWith("application/json")) {
    return json(res, 415, { error: "Content-Type must be application/json" });
  }
  if (message.method === "initialize") {
    initializations++;
    const session = "session-" + nextSession++;
    sessions.add(session);
    return json(res, 200, rpcResult(message.id, {
      protocolVersion: "2025-06-18",
      capabilities: { tools: {} },
      serverInfo: { name: "fake-http", version: "1.0.0" },
    }), { "Mcp-Session-Id": session });
  }
  const session = req.headers["mcp-session-id"];
  if (!session) return json(res, 400, { error: "no session" });
  if (!sessions.has(session)) return json(res, 404, { error: "unknown session" });
  if (req.headers["mcp-protocol-version"] !== "2025-06-18") {
    return json(res, 400, { error: "MCP-Protocol-Version header missing or wrong" });
  }
  if (message.method === undefined) {  // a response from the client
    const resolve = waitingAsks.get(message.id);
    if (resolve) {
      waitingAsks.delete(message.id);
      resolve(message);
    }
    res.writeHead(202);
    return res.end();
  }
  if (message.id === undefined) {  // a notification
    res.writeHead(202);
    return res.end();
  }
  if (message.method === "tools/list") {
    sseStart(res);
    sseSend(res, { jsonrpc: "2.0", method: "notifications/message",
                   params: { level: "info", data: "listing" } });
    sseSend(res, rpcResult(message.id, { tools }));
    openStreams.push(res);  // never ended
    return;
  }
  if (message.method === "tools/call") {
    const name = message.params.name;
    if (name === "echo") {
      return json(res, 200, rpcResult(message.id, {
        content: [{ type: "text", text: message.params.arguments.message }] }));
    }
    if (["announce", "ask-get", "garbage", "oversized", "drop"].includes(name)) {
      const sent = handleGetStreamTool(session, name, message.params.arguments || {});
      return json(res, 200, rpcResult(message.id, {
        content: [{ type: "text", text: JSON.stringify({ sent }) }] }));
    }
    if (name === "expire") {
      sessions.delete(session);
      const stream = getStreams.get(session);
      if (stream) stream.end();
      return json(res, 200, rpcResult(message.id, { content: [{ type: "text", text: "expired" }] }));
    }
    if (name === "stats") {
      return json(res, 200, rpcResult(message.id, {
        content: [{ type: "text", text: JSON.stringify({
          initializations, deletes, gets, getLastEventIds, getAnswers }) }] }));
    }
    if (name === "ask") {
      sseStart(res);
      const askId = "ask-" + message.id;
      waitingAsks.set(askId, (reply) => {
        sseSend(res, rpcResult(message.id, {
          content: [{ type: "text", text: JSON.stringify(reply) }] }));
        res.end();
      });
      sseSend(res, { jsonrpc: "2.0", id: askId, method: "ping" });
      return;
    }
  }
  return json(res, 200, { jsonrpc: "2.0", id: message.id,
                          error: { code: -32601, message: "Method not found" } });
}

const server = http.createServer((req, res) => {
  if (req.url !== "/mcp") return json(res, 404, { error: "not here" });
  if (req.method === "DELETE") {
    const session = req.headers["mcp-session-id"];
    if (session && sessions.delete(session)) deletes++;
    const stream = getStreams.get(session);
    if (stream) stream.end();
    res.writeHead(200);
    return res.end();
  }
  if (req.method === "GET") return handleGet(req, res);
  if (req.method !== "POST") return json(res, 405, { error: "method not allowed" });
  let body = "";
  req.on("data", (chunk) => { body += chunk; });
  req.on("end", () => {
    let message;
    try {
      message = JSON.parse(body);
    } catch {
      return json(res, 400, { error: "not JSON" });
    }
    handlePost(req, res, message);
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));
