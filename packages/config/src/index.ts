export { type ApiConfig, loadApiConfig } from "./api.js";
export {
  type ArchiveConfig,
  type CommonConfig,
  DEV_JWT_SECRET,
  type JwtConfig,
  loadWith,
  type RedisConfig,
} from "./common.js";
export { bool, hostPorts, int, list, oneOf, optionalBool, optionalText, port, text, url } from "./fields.js";
export { type GatewayConfig, loadGatewayConfig } from "./gateway.js";
export { ConfigError, type Env, parseEnv } from "./load-config.js";
export {
  buildProvidersConfig,
  ModelPrices,
  type ProviderEndpoint,
  type ProvidersConfig,
  providersEnv,
} from "./providers.js";
export { loadWorkerConfig, type WorkerConfig } from "./worker.js";
