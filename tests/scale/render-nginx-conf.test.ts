import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderNginxConf } from "../../scripts/topology/render-nginx-conf.js";
import { DEFAULT_NGINX_TEMPLATE } from "../../scripts/topology/start-nginx.js";

const template = readFileSync(DEFAULT_NGINX_TEMPLATE, "utf8");

describe("renderNginxConf", () => {
  it("swaps the compose service names for local upstreams and keeps every other line", () => {
    const conf = renderNginxConf(template, {
      gateways: ["127.0.0.1:4001", "127.0.0.1:4002"],
      apis: ["127.0.0.1:4000"],
      listenPort: 8099,
    });
    expect(conf).not.toMatch(/gateway-\d:|api-\d:|listen 8080/);
    expect(conf).toContain("server 127.0.0.1:4001 max_fails=1 fail_timeout=5s;");
    expect(conf).toContain("server 127.0.0.1:4002 max_fails=1 fail_timeout=5s;");
    expect(conf).toContain("server 127.0.0.1:4000 max_fails=1 fail_timeout=5s;");
    expect(conf).toContain("listen 127.0.0.1:8099;");
    const unchanged = (text: string) => text.split("\n").filter((l) => !/server |listen /.test(l));
    expect(unchanged(conf)).toEqual(unchanged(template));
  });

  it("the committed file carries what SSE through nginx needs", () => {
    for (const directive of [
      "least_conn;",
      "proxy_buffering off;",
      "proxy_cache off;",
      "proxy_http_version 1.1;",
      'proxy_set_header Connection "";',
      "proxy_read_timeout 300s;",
      "gzip off;",
      "client_max_body_size 1m;",
      "proxy_set_header X-Request-Id $threadline_request_id;",
    ]) {
      expect(template).toContain(directive);
    }
    expect(template).not.toMatch(/^\s*(ip_hash|sticky|hash )/m);
  });

  it("refuses a template whose markers were removed, saying what to restore", () => {
    const edited = template.replace("# END apis", "");
    expect(() => renderNginxConf(edited, { gateways: ["a:1"], apis: ["b:2"], listenPort: 1 })).toThrow(
      /no "# BEGIN apis" … "# END apis" block; restore the markers/,
    );
  });

  it("refuses an empty upstream", () => {
    expect(() => renderNginxConf(template, { gateways: [], apis: ["b:2"], listenPort: 1 })).toThrow(
      /at least one gateway and one API/,
    );
  });
});
