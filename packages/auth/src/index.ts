export { Claims, canRead, isAdmin } from "./claims.js";
export { AUTH_ERRORS, type AuthFailureReason } from "./errors.js";
export { type ExtractedToken, extractToken, type TokenSource } from "./extract-token.js";
export { type DevTokenOptions, signDevToken } from "./signer.js";
export { createVerifier, type Verifier, type VerifierConfig, type VerifyResult } from "./verifier.js";
