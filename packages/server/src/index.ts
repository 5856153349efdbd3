export { corsOrigin } from "./cors-origin.js";
export { HttpError, httpError, installErrorHandling, sendError } from "./errors.js";
export { contractFrameworkOptions, MAX_PARAM_LENGTH } from "./framework-errors.js";
export { createLogger, type LoggerConfig, REDACT_PATHS, redactUrl } from "./logger.js";
export { runMain } from "./main-helpers.js";
export { type Closable, installShutdown } from "./shutdown.js";
