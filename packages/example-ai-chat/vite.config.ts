import { defineConfig } from "vite";

// Workspace packages are bundled from source (the "@threadline/source" export condition), so the example
// builds without building them first; JSX goes through Vite's own transform, as in packages/console.
export default defineConfig({
  base: "/",
  resolve: { conditions: ["@threadline/source", "browser", "module", "import", "default"] },
  oxc: { jsx: { runtime: "automatic" } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  logLevel: "warn",
});
