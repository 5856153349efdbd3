import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "../test-support/api-harness.js";

const RUN = { runId: "run_dash_1", threadId: "dash", agent: "demo", input: { prompt: "hi" }, owner: "alice" };

describe("queue dashboard (read-only, the default)", () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await startApiHarness();
    await h.queue.enqueue(RUN);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("serves the page and its API to an admin Bearer token", async () => {
    const admin = h.bearer("ops", { role: "admin" });
    const page = await h.app.inject({ url: "/admin/queues", headers: { authorization: admin } });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("Threadline queues");
    const api = await h.app.inject({ url: "/admin/queues/api/queues", headers: { authorization: admin } });
    expect(api.statusCode).toBe(200);
    const runs = api.json().queues.find((q: { name: string }) => q.name === "runs");
    expect(runs).toMatchObject({ readOnlyMode: true, counts: { waiting: 1 } });
  });

  it("logs a browser in with an HttpOnly, SameSite=Strict, short-lived cookie that opens the page", async () => {
    const form = await h.app.inject({
      method: "POST",
      url: "/admin/login",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: `token=${encodeURIComponent(h.bearer("ops", { role: "admin" }).slice(7))}`,
    });
    expect(form.statusCode).toBe(303);
    expect(form.headers.location).toBe("/admin/queues");
    const setCookie = String(form.headers["set-cookie"]);
    expect(setCookie).toMatch(
      /^threadline_admin=[\w.-]+; Max-Age=(\d+); Path=\/admin; HttpOnly; SameSite=Strict$/,
    );
    expect(Number(/Max-Age=(\d+)/.exec(setCookie)?.[1])).toBeLessThanOrEqual(900);
    const cookie = setCookie.split(";")[0] ?? "";
    const page = await h.app.inject({ url: "/admin/queues", headers: { cookie, accept: "text/html" } });
    expect(page.statusCode).toBe(200);
    const api = await h.app.inject({ url: "/admin/queues/api/queues", headers: { cookie } });
    expect(api.statusCode).toBe(200);

    const json = await h.app.inject({
      method: "POST",
      url: "/admin/login",
      payload: { token: h.bearer("ops", { role: "admin" }).slice(7) },
    });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({ sub: "ops", expiresInSeconds: 900 });
    expect((await h.app.inject({ url: "/admin/login" })).body).toContain(
      '<form method="post" action="/admin/login">',
    );
  });

  it("refuses a non-admin token (header, cookie or login) with 403", async () => {
    const user = h.bearer("alice", { threads: ["*"] });
    const header = await h.app.inject({ url: "/admin/queues/api/queues", headers: { authorization: user } });
    expect(header.statusCode).toBe(403);
    expect(header.json().error.code).toBe("ADMIN_REQUIRED");
    const cookie = await h.app.inject({
      url: "/admin/queues/api/queues",
      headers: { cookie: `threadline_admin=${user.slice(7)}` },
    });
    expect(cookie.statusCode).toBe(403);
    const login = await h.app.inject({
      method: "POST",
      url: "/admin/login",
      payload: { token: user.slice(7) },
    });
    expect(login.statusCode).toBe(403);
    expect(login.headers["set-cookie"]).toBeUndefined();
  });

  it("refuses no token or a bad one with 401, and sends a browser to the login page", async () => {
    const none = await h.app.inject({ url: "/admin/queues/api/queues" });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.message).toMatch(/log in at \/admin\/login/);
    const bad = await h.app.inject({
      url: "/admin/queues",
      headers: { cookie: "threadline_admin=not.a.jwt" },
    });
    expect(bad.statusCode).toBe(401);
    const expired = await h.app.inject({
      url: "/admin/queues/api/queues",
      headers: { authorization: h.bearer("ops", { role: "admin", ttlSeconds: -60 }) },
    });
    expect(expired.statusCode).toBe(401);
    const browser = await h.app.inject({ url: "/admin/queues", headers: { accept: "text/html,*/*" } });
    expect(browser.statusCode).toBe(303);
    expect(browser.headers.location).toBe("/admin/login");
    const login = await h.app.inject({ method: "POST", url: "/admin/login", payload: {} });
    expect(login.statusCode).toBe(400);
  });

  it("refuses actions while ADMIN_QUEUE_ACTIONS is off", async () => {
    const res = await h.app.inject({
      method: "PUT",
      url: "/admin/queues/api/queues/runs/pause",
      headers: { authorization: h.bearer("ops", { role: "admin" }) },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe("QUEUE_ACTIONS_DISABLED");
    expect(await h.queue.queue.isPaused()).toBe(false);
  });
});

describe("queue dashboard with ADMIN_QUEUE_ACTIONS=1", () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await startApiHarness({ ADMIN_QUEUE_ACTIONS: "1" });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("lets an admin pause the queue", async () => {
    const res = await h.app.inject({
      method: "PUT",
      url: "/admin/queues/api/queues/runs/pause",
      headers: { authorization: h.bearer("ops", { role: "admin" }) },
    });
    expect(res.statusCode).toBe(200);
    expect(await h.queue.queue.isPaused()).toBe(true);
  });
});
