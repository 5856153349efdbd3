/** The part of the Web Locks API (`navigator.locks`) the SDK uses, so tests and other runtimes can inject one. */
export interface LockManagerLike {
  request<T>(
    name: string,
    options: { signal?: AbortSignal; ifAvailable?: boolean },
    callback: (lock: unknown) => Promise<T> | T,
  ): Promise<T>;
}

/** The part of BroadcastChannel the SDK uses. A channel never receives its own messages. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  close(): void;
}

export type ChannelFactory = (name: string) => ChannelLike;

/** `navigator.locks` when the runtime has it (browsers, Node ≥ 22), else undefined. */
export function webLocks(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks;
}

/** The runtime's BroadcastChannel (browsers, Node ≥ 18), else undefined. */
export function broadcastChannels(): ChannelFactory | undefined {
  const Channel = (globalThis as unknown as { BroadcastChannel?: new (name: string) => ChannelLike })
    .BroadcastChannel;
  return Channel ? (name) => new Channel(name) : undefined;
}
