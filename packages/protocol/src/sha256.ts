import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/**
 * SHA-256 of a string's UTF-8 bytes, as hex. Synchronous because browsers lack a sync digest (and
 * `crypto.subtle` exists only in secure contexts): the SDK computes the position vector's tag
 * (position-vector.ts) wherever it runs. @noble/hashes is audited, dependency-free and runs anywhere.
 */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}
