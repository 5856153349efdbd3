import { defineConfig } from "vite";

// Workspace packages are bundled from source (the "@threadline/source" export condition), so the
// console builds without building them first. JSX goes through Vite's own transform (no React plugin:
// there is no dev server use that needs Fast Refresh).
export default defineConfig({
  base: "/",
  resolve: { conditions: ["@threadline/source", "browser", "module", "import", "default"] },
  oxc: { jsx: { runtime: "automatic" } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  logLevel: "warn",
});
