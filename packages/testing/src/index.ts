export { type RedisClusterHandle, startRedisCluster } from "./redis-cluster.js";
export { REDIS_SERVER_BIN, type RedisServer, type RedisServerOptions, startRedisServer } from "./redis-server.js";
export { type SseClientOptions, type SseConnection, openSse } from "./sse-client.js";
export { getTestRedis, type TestRedis } from "./test-redis.js";
export { uniqueId } from "./unique-id.js";
