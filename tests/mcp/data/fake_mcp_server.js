#!/usr/bin/env node
// A small, deliberately misbehaving MCP server for joey's MCP client tests.
// Usage: node fake_mcp_server.js MODE
//   normal     answers initialize, tools/list (two pages), resources/list, tools/call
//   hang       like normal, but never answers tools/call
//   garbage    writes only lines that are not JSON-RPC and answers nothing
//   oversized  writes one line larger than 16 MiB before each answer
//   version    answers initialize with protocol version 1999-01-01
//   asks       before answering tools/call, asks joey roots/list, ping and
//              sampling/createMessage, and reports the answers in its result
//   exit       exits with status 3 after writing to stderr, on tools/call
//   dynamic FILE  lists one tool per line of FILE (read at each tools/list); the
//              tool "change" {add, remove, broken, quiet} edits FILE, makes later
//              tools/list fail while broken is true, and (unless quiet) sends
//              notifications/tools/list_changed
//              before it answers; "quit" exits without answering; any other tool
//              answers "called NAME". A restarted server reads FILE afresh.
"use strict";
const fs = require("fs");
const readline = require("readline");

const mode = process.argv[2] || "normal";
const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");
const pendingAsks = new Map();
let nextAskId = 1000;

if (mode === "garbage") {
  let count = 0;
  const timer = setInterval(() => {
    process.stdout.write("this is not JSON-RPC, line " + count + "\n");
    if (++count > 200) clearInterval(timer);
  }, 20);
}

function ask(method, params) {
  const id = nextAskId++;
  send({ jsonrpc: "2.0", id, method, params });
  return new Promise((resolve) => pendingAsks.set(id, resolve));
}

async function handle(message) {
  if (message.id !== undefined && message.method === undefined) {
    const resolve = pendingAsks.get(message.id);
    if (resolve) {
      pendingAsks.delete(message.id);
      resolve(message);
    }
    return;
  }
  if (mode === "garbage") return;
  if (message.id === undefined) {
    if (message.method === "notifications/cancelled") {
      process.stderr.write("cancelled request " + message.params.requestId + "\n");
    }
    return;
  }
  if (mode === "dynamic") return handleDynamic(message);
  if (mode === "oversized") process.stdout.write("x".repeat(17 * 1024 * 1024) + "\n");
  const reply = (result) => send({ jsonrpc: "2.0", id: message.id, result });
  switch (message.method) {
    case "initialize":
      return reply({
        protocolVersion: mode === "version" ? "1999-01-01" : message.params.protocolVersion,
        capabilities: { tools: { listChanged: true }, resources: {} },
        serverInfo: { name: "fake", version: "1.0.0" },
      });
    case "tools/list":
      if (!message.params || !message.params.cursor) {
        return reply({
          tools: [{ name: "slow", description: "never answers in hang mode",
                    inputSchema: { type: "object" } }],
          nextCursor: "page2",
        });
      }
      send({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
      return reply({ tools: [{ name: "second", inputSchema: { type: "object" } }] });
    case "resources/list":
      return reply({ resources: [{ uri: "fake://one", name: "one" }] });
    case "tools/call":
      if (mode === "hang") return;
      if (mode === "exit") {
        process.stderr.write("fatal: the fake server gives up\n");
        process.exit(3);
      }
      if (mode === "asks") {
        const roots = await ask("roots/list", {});
        const ping = await ask("ping", {});
        const sampling = await ask("sampling/createMessage", { messages: [] });
        return reply({ content: [{ type: "text", text: JSON.stringify({ roots, ping, sampling }) }] });
      }
      return reply({ content: [{ type: "text", text: "called " + message.params.name }] });
    default:
      return send({ jsonrpc: "2.0", id: message.id,
                    error: { code: -32601, message: "Method not found" } });
  }
}

const toolsFile = process.argv[3];
let listBroken = false;

function readToolNames() {
  return fs.readFileSync(toolsFile, "utf8").split("\n").map((line) => line.trim()).filter(Boolean);
}

function handleDynamic(message) {
  const reply = (result) => send({ jsonrpc: "2.0", id: message.id, result });
  switch (message.method) {
    case "initialize":
      return reply({
        protocolVersion: message.params.protocolVersion,
        capabilities: { tools: { listChanged: true } },
        serverInfo: { name: "fake-dynamic", version: "1.0.0" },
      });
    case "tools/list":
      if (listBroken) {
        return send({ jsonrpc: "2.0", id: message.id,
                      error: { code: -32603, message: "the tool list is broken" } });
      }
      return reply({ tools: readToolNames().map((name) => ({
        name, description: "the tool " + name, inputSchema: { type: "object" } })) });
    case "tools/call": {
      const name = message.params.name;
      const args = message.params.arguments || {};
      if (name === "quit") process.exit(0);
      if (name === "change") {
        let names = readToolNames().filter((tool) => tool !== args.remove);
        if (args.add && !names.includes(args.add)) names.push(args.add);
        fs.writeFileSync(toolsFile, names.join("\n") + "\n");
        listBroken = Boolean(args.broken);
        if (!args.quiet) send({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
      }
      return reply({ content: [{ type: "text", text: "called " + name }] });
    }
    default:
      return send({ jsonrpc: "2.0", id: message.id,
                    error: { code: -32601, message: "Method not found" } });
  }
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    return;
  }
  handle(message);
});
process.stdin.on("end", () => process.exit(0));
