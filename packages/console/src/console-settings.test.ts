import { describe, expect, it } from "vitest";
import {
  describeToken,
  formatHash,
  loadSettings,
  parseHash,
  readStoredSettings,
} from "./console-settings.js";

const page = { gatewayMeta: "", protocol: "http:", hostname: "127.0.0.1" };

function jwt(claims: object): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "HS256" })}.${b64(claims)}.sig`;
}

describe("console settings", () => {
  it("reads token, thread and gateway from the fragment", () => {
    expect(parseHash("#token=abc&thread=t-1&gateway=http%3A%2F%2Fgw%3A1")).toEqual({
      token: "abc",
      thread: "t-1",
      gateway: "http://gw:1",
    });
    expect(parseHash("")).toEqual({});
    expect(parseHash("#token=&thread=%20")).toEqual({});
  });

  it("keeps only the thread in the address bar", () => {
    expect(formatHash("a b")).toBe("#thread=a%20b");
    expect(formatHash(undefined)).toBe("");
  });

  it("prefers the fragment, then the page's gateway URL, then storage, then port 3001", () => {
    expect(loadSettings({ token: "h" }, { token: "s", gatewayUrl: "http://s" }, page)).toEqual({
      token: "h",
      gatewayUrl: "http://s",
    });
    expect(loadSettings({}, {}, { ...page, gatewayMeta: "http://gw:9/" })).toEqual({
      token: "",
      gatewayUrl: "http://gw:9",
    });
    expect(
      loadSettings({}, { gatewayUrl: "http://old" }, { ...page, gatewayMeta: "http://gw:9" }).gatewayUrl,
    ).toBe("http://gw:9");
    expect(loadSettings({}, {}, page).gatewayUrl).toBe("http://127.0.0.1:3001");
  });

  it("ignores stored settings that are not what it saved", () => {
    expect(readStoredSettings({ getItem: () => "not json" })).toEqual({});
    expect(readStoredSettings({ getItem: () => '{"token":5,"gatewayUrl":"http://x"}' })).toEqual({
      gatewayUrl: "http://x",
    });
  });

  it("describes a token by subject and expiry", () => {
    const now = 1_000_000_000_000;
    expect(describeToken(jwt({ sub: "dev", exp: now / 1000 + 3600 * 24 }), now)).toBe(
      "sub dev, expires in 24 h",
    );
    expect(describeToken(jwt({ sub: "dev", exp: now / 1000 - 1 }), now)).toBe("sub dev, expired");
    expect(describeToken("", now)).toBe("no token");
    expect(describeToken("garbage", now)).toBe("not a JWT");
  });
});
