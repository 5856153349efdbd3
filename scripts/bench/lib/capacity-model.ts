/**
 * The capacity model of docs/SCALING.md: from measured per-connection and per-delivery costs, how
 * many gateways, workers and Redis shards a workload needs, and which limit binds first. Pure
 * arithmetic, so `capacity.ts` can print plans and check a gateway's predicted figures against a
 * local multi-gateway run.
 */

/** What one SSE connection and one delivery cost, per subscriber mode (from `pnpm bench`). */
export interface ModeCosts {
  /** Gateway CPU per delivered event, µs. */
  cpuUsPerDelivery: number;
  /** Gateway RSS per open connection, KiB, and the empty process's RSS, MiB. */
  rssKiBPerConnection: number;
  baseRssMiB: number;
  /** Redis memory per watcher, KiB (dedicated: a client connection each; shared: a channel entry). */
  redisKiBPerWatcher: number;
}

export interface Costs {
  dedicated: ModeCosts;
  shared: ModeCosts;
  /** Redis CPU per published event through the script (XADD + PUBLISH), µs. */
  redisUsPerPublish: number;
  /** Redis CPU per message it writes to a subscriber connection, µs. */
  redisUsPerSubscriberWrite: number;
  /** One worker process's events/s (S5, coalescing off). */
  workerEventsPerSec: number;
}

export interface Workload {
  watchers: number;
  /** Watchers per thread (1 = every client on its own thread). */
  watchersPerThread: number;
  /** Events per second on each thread that is streaming. */
  eventsPerSecPerThread: number;
  /** Share of threads streaming at any moment. */
  activeShare: number;
}

export interface Limits {
  /** Cores per gateway process (Node: 1) and the utilisation to plan for. */
  gatewayUtilisation: number;
  /** RSS budget per gateway process, MiB. */
  gatewayRssMiB: number;
  /** Open files per gateway process. */
  gatewayMaxFiles: number;
  /** Per Redis shard: CPU utilisation to plan for, client connections, memory for clients, MiB. */
  shardUtilisation: number;
  shardMaxClients: number;
  shardMemoryMiB: number;
  workerUtilisation: number;
}

export interface Plan {
  mode: "dedicated" | "shared";
  deliveriesPerSec: number;
  eventsPerSec: number;
  gateways: number;
  /** Each gateway limit's answer; the largest wins. */
  gatewaysBy: { cpu: number; memory: number; files: number };
  watchersPerGateway: number;
  perGateway: { deliveriesPerSec: number; cpuPercent: number; rssMiB: number };
  redisConnections: number;
  shards: number;
  shardsBy: { cpu: number; connections: number; memory: number };
  workers: number;
  firstBottleneck: string;
}

export function plan(mode: "dedicated" | "shared", costs: Costs, w: Workload, limits: Limits): Plan {
  const m = costs[mode];
  const threads = w.watchers / w.watchersPerThread;
  const eventsPerSec = threads * w.activeShare * w.eventsPerSecPerThread;
  const deliveriesPerSec = eventsPerSec * w.watchersPerThread;
  const gatewaysBy = {
    cpu: Math.ceil((deliveriesPerSec * m.cpuUsPerDelivery) / 1e6 / limits.gatewayUtilisation),
    memory: Math.ceil((w.watchers * m.rssKiBPerConnection) / 1024 / (limits.gatewayRssMiB - m.baseRssMiB)),
    // dedicated: a client socket and a Redis subscriber per watcher; shared: the client socket.
    files: Math.ceil((w.watchers * (mode === "dedicated" ? 2 : 1)) / limits.gatewayMaxFiles),
  };
  const gateways = Math.max(1, gatewaysBy.cpu, gatewaysBy.memory, gatewaysBy.files);
  const watchersPerGateway = w.watchers / gateways;
  const perGatewayDeliveries = deliveriesPerSec / gateways;
  // Redis writes one message per subscriber connection: per watcher in dedicated mode, per gateway
  // holding a watcher of the thread in shared mode (at most min(watchers per thread, gateways)).
  const subscriberWritesPerEvent =
    mode === "dedicated" ? w.watchersPerThread : Math.min(w.watchersPerThread, gateways);
  const redisCpuUs =
    eventsPerSec * (costs.redisUsPerPublish + subscriberWritesPerEvent * costs.redisUsPerSubscriberWrite);
  const redisConnections = mode === "dedicated" ? w.watchers + gateways : 2 * gateways;
  const shardsBy = {
    cpu: Math.ceil(redisCpuUs / 1e6 / limits.shardUtilisation),
    connections: Math.ceil(redisConnections / limits.shardMaxClients),
    memory: Math.ceil((w.watchers * m.redisKiBPerWatcher) / 1024 / limits.shardMemoryMiB),
  };
  const shards = Math.max(1, shardsBy.cpu, shardsBy.connections, shardsBy.memory);
  const workers = Math.max(
    1,
    Math.ceil(eventsPerSec / (costs.workerEventsPerSec * limits.workerUtilisation)),
  );
  const bottlenecks: [string, number][] = [
    ["gateway CPU (deliveries)", gatewaysBy.cpu],
    ["gateway memory (connections)", gatewaysBy.memory],
    ["gateway open files", gatewaysBy.files],
    ["Redis CPU (publish + fan-out)", shardsBy.cpu],
    ["Redis connections per shard", shardsBy.connections],
    ["Redis memory for watchers", shardsBy.memory],
  ];
  const [firstBottleneck] = bottlenecks.reduce((a, b) => (b[1] > a[1] ? b : a));
  return {
    mode,
    deliveriesPerSec: Math.round(deliveriesPerSec),
    eventsPerSec: Math.round(eventsPerSec),
    gateways,
    gatewaysBy,
    watchersPerGateway: Math.round(watchersPerGateway),
    perGateway: {
      deliveriesPerSec: Math.round(perGatewayDeliveries),
      cpuPercent: Math.round((perGatewayDeliveries * m.cpuUsPerDelivery) / 1e4),
      rssMiB: Math.round(m.baseRssMiB + (watchersPerGateway * m.rssKiBPerConnection) / 1024),
    },
    redisConnections,
    shards,
    shardsBy,
    workers,
    firstBottleneck,
  };
}
