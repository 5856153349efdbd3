export { corsOrigin } from "./cors-origin.js";
export { HttpError, httpError, installErrorHandling, sendError } from "./errors.js";
export { contractFrameworkOptions, MAX_PARAM_LENGTH } from "./framework-errors.js";
export { type HealthPluginOptions, healthPlugin, pingWithin } from "./health-plugin.js";
export { createLogger, createServiceLogger, type LoggerConfig, REDACT_PATHS, redactUrl } from "./logger.js";
export { runMain } from "./main-helpers.js";
export { createServiceApp, type ServiceAppOptions } from "./service-app.js";
export { type Closable, installShutdown } from "./shutdown.js";
export { closeStalledConnections, type StalledConnectionOptions } from "./stalled-connections.js";
