import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.js";
import {
  formatHash,
  loadSettings,
  parseHash,
  readStoredSettings,
  storeSettings,
} from "./console-settings.js";
import "./styles.css";

const hash = parseHash(window.location.hash);
const meta = document.querySelector<HTMLMetaElement>('meta[name="threadline-gateway-url"]');
const settings = loadSettings(hash, readStoredSettings(window.localStorage), {
  gatewayMeta: meta?.content ?? "",
  protocol: window.location.protocol,
  hostname: window.location.hostname,
});
if (hash.token || hash.gateway) {
  storeSettings(window.localStorage, settings);
  // The token stays out of the address bar (and of anything copied from it).
  window.history.replaceState(null, "", formatHash(hash.thread) || window.location.pathname);
}
const root = document.getElementById("root");
if (root)
  createRoot(root).render(
    <StrictMode>
      <App initialSettings={settings} initialThread={hash.thread} />
    </StrictMode>,
  );
