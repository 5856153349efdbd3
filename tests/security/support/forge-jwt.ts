import { createHmac, createSign, generateKeyPairSync } from "node:crypto";

/** Hand-made JWTs for the attack matrix (jsonwebtoken refuses to sign most of them). */
const b64 = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

export function hs256(payload: Record<string, unknown>, secret: string | Buffer): string {
  const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(payload)}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

export function rs256(payload: Record<string, unknown>, privateKeyPem: string): string {
  const head = `${b64({ alg: "RS256", typ: "JWT" })}.${b64(payload)}`;
  return `${head}.${createSign("RSA-SHA256").update(head).sign(privateKeyPem, "base64url")}`;
}

export function algNone(payload: Record<string, unknown>): string {
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`;
}

export function rsaKeyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
