import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installErrorHandling } from "@threadline/server";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consolePlugin } from "./console-plugin.js";

const built = mkdtempSync(join(tmpdir(), "console-built-"));
const empty = mkdtempSync(join(tmpdir(), "console-empty-"));
let app: FastifyInstance;
let bare: FastifyInstance;

async function appFor(dir: string, gatewayUrl?: string) {
  const instance = Fastify();
  installErrorHandling(instance);
  await instance.register(consolePlugin, { dir, ...(gatewayUrl ? { gatewayUrl } : {}) });
  return instance;
}

beforeAll(async () => {
  mkdirSync(join(built, "assets"));
  writeFileSync(
    join(built, "index.html"),
    '<html><head><meta name="threadline-gateway-url" content="" /></head><body>console</body></html>',
  );
  writeFileSync(join(built, "assets", "index-abc.js"), "console.log(1)");
  writeFileSync(join(built, "secret.txt"), "do not serve");
  writeFileSync(join(built, "favicon.svg"), "<svg/>");
  app = await appFor(built, 'http://gw.test:3001/"x');
  bare = await appFor(empty);
});

afterAll(async () => {
  await app.close();
  await bare.close();
  rmSync(built, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

describe("consolePlugin", () => {
  it("serves the built page at / with the gateway URL written in, escaped", async () => {
    const res = await app.inject("/");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(res.body).toContain(
      '<meta name="threadline-gateway-url" content="http://gw.test:3001/&quot;x" />',
    );
  });

  it("serves hashed assets as immutable, with their type", async () => {
    const res = await app.inject("/assets/index-abc.js");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(res.headers["cache-control"]).toContain("immutable");
    expect(res.body).toBe("console.log(1)");
    expect((await app.inject("/favicon.svg")).headers["content-type"]).toBe("image/svg+xml");
  });

  it("answers 404 in the JSON error shape for missing files, other types and paths outside assets", async () => {
    for (const url of [
      "/assets/nope.js",
      "/assets/..%2Fsecret.txt",
      "/assets/..%2Findex.html",
      "/secret.txt",
    ]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code, url).toBeTypeOf("string");
    }
  });

  it("says how to build the console when it is not built, without failing the API", async () => {
    const res = await bare.inject("/");
    expect(res.statusCode).toBe(503);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.body).toContain("pnpm build");
    expect((await bare.inject("/assets/index-abc.js")).statusCode).toBe(404);
  });
});
