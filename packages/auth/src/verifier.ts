import { createPublicKey, createSecretKey } from "node:crypto";
import jwt from "jsonwebtoken";
import { Claims } from "./claims.js";
import { AUTH_ERRORS, type AuthFailureReason } from "./errors.js";

export interface VerifierConfig {
  /** HS256 shared secret. Exactly one of `secret` / `publicKey`. */
  secret?: string;
  /** PEM public key: RS256 for RSA keys, ES256 for EC keys. */
  publicKey?: string;
  audience?: string;
  issuer?: string;
  /** Seconds of skew allowed on exp/nbf; the contract caps it at 5. */
  clockToleranceSeconds: number;
  /** Tokens larger than this are refused before any parsing. Default 8 KiB. */
  maxTokenBytes?: number;
}

export type VerifyResult =
  | { ok: true; claims: Claims }
  | { ok: false; reason: AuthFailureReason; code: string; message: string };

export interface Verifier {
  verify(token: string | undefined): VerifyResult;
  clockToleranceSeconds: number;
}

/** Builds a JWT verifier with the algorithm pinned by the key type: never both HS and RS for one key. */
export function createVerifier(config: VerifierConfig): Verifier {
  const { key, algorithms } = pinnedKey(config);
  const maxBytes = config.maxTokenBytes ?? 8 * 1024;
  const options: jwt.VerifyOptions = {
    algorithms,
    clockTolerance: config.clockToleranceSeconds,
    ...(config.audience ? { audience: config.audience } : {}),
    ...(config.issuer ? { issuer: config.issuer } : {}),
  };
  return {
    clockToleranceSeconds: config.clockToleranceSeconds,
    verify(token) {
      if (!token) return fail("missing");
      if (token.length > maxBytes) return fail("tooLarge");
      let payload: unknown;
      try {
        payload = jwt.verify(token, key, options);
      } catch (error) {
        return fail(reasonOf(error));
      }
      // RFC 7515 §4.1.11: a `crit` header lists extensions the recipient MUST understand; we
      // understand none, so any token that has one is refused (jsonwebtoken ignores `crit`).
      if (hasCritHeader(token)) return fail("critical");
      const claims = Claims.safeParse(payload);
      if (!claims.success) {
        const detail = claims.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ");
        return {
          ok: false,
          reason: "claims",
          code: AUTH_ERRORS.claims.code,
          message: `token claims are invalid: ${detail}`,
        };
      }
      return { ok: true, claims: claims.data };
    },
  };
}

function hasCritHeader(token: string): boolean {
  try {
    const header: unknown = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8"));
    return typeof header === "object" && header !== null && "crit" in header;
  } catch {
    return true;
  }
}

function pinnedKey(config: VerifierConfig): { key: jwt.Secret; algorithms: jwt.Algorithm[] } {
  if (config.secret && config.publicKey) throw new Error("configure JWT_SECRET or JWT_PUBLIC_KEY, not both");
  // A KeyObject, not the string: given a string, jsonwebtoken first tries (and fails) to parse it as a
  // PEM public key on EVERY verify, which made each SSE connect cost ~35× more CPU (pnpm bench, S3).
  if (config.secret) return { key: createSecretKey(Buffer.from(config.secret)), algorithms: ["HS256"] };
  if (!config.publicKey) throw new Error("configure JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256)");
  const keyObject = createPublicKey(config.publicKey);
  const type = keyObject.asymmetricKeyType;
  if (type === "rsa") return { key: keyObject, algorithms: ["RS256"] };
  if (type === "ec") return { key: keyObject, algorithms: ["ES256"] };
  throw new Error(`JWT_PUBLIC_KEY: unsupported key type ${type}; use an RSA or P-256 EC key`);
}

function reasonOf(error: unknown): AuthFailureReason {
  if (error instanceof jwt.TokenExpiredError) return "expired";
  if (error instanceof jwt.NotBeforeError) return "notBefore";
  const message = error instanceof Error ? error.message : "";
  if (message.startsWith("jwt audience invalid")) return "audience";
  if (message.startsWith("jwt issuer invalid")) return "issuer";
  if (
    message === "jwt malformed" ||
    message.includes("invalid token") ||
    message.includes("Unexpected token")
  ) {
    return "malformed";
  }
  return "signature";
}

function fail(reason: AuthFailureReason): VerifyResult {
  return { ok: false, reason, ...AUTH_ERRORS[reason] };
}
