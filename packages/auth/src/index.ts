export { Claims, canRead, isAdmin, PublishGrant, publishGrantOf } from "./claims.js";
export { AUTH_ERRORS, type AuthFailureReason } from "./errors.js";
export { type ExtractedToken, extractToken, type TokenSource } from "./extract-token.js";
export { type DevTokenOptions, type PublishTokenOptions, signDevToken, signPublishToken } from "./signer.js";
export { createVerifier, type Verifier, type VerifierConfig, type VerifyResult } from "./verifier.js";
