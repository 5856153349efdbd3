import { createRoot } from "react-dom/client";
import { App } from "./app.js";
import { loadConfig } from "./config.js";
import "./styles.css";

const root = createRoot(document.getElementById("root") as HTMLElement);
loadConfig().then(
  (config) => root.render(<App config={config} />),
  (error: Error) => root.render(<p role="alert">{error.message}</p>),
);
