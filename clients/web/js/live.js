// The one live connection: opened on first need with the device that last drew, reopened
// (between attempts and rooms only) when another kind of pointer has drawn since.

import { auth } from "./api.js";
import { Connection, deviceFor } from "./protocol.js";
import { lastPointerType } from "./pen.js";

let connection = null;

export async function live() {
  const device = deviceFor(lastPointerType());
  if (connection && connection.state === "closed") connection = null;
  if (connection && !connection.session.inStream && connection.device.kind !== device.kind) {
    connection.close();
    connection = null;
  }
  if (!connection) {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    connection = new Connection({ url, token: auth.token, device });
    connection.on("state", ({ state }) => showStatus(state));
    window.inkroom = { connection }; // for the browser tests
  }
  await connection.open();
  return connection;
}

export function closeLive() {
  connection?.close();
  connection = null;
}

function showStatus(state) {
  const labels = {
    connecting: "Connecting…", open: "Live", resuming: "Resuming…",
    reconnecting: "Connection lost: reconnecting…", closed: "Offline",
  };
  document.getElementById("status").textContent = labels[state] ?? "";
}

export function go(path) {
  location.hash = `#${path}`;
}
