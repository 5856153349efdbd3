/**
 * The chat's thread, kept in the address (`?thread=`) so a reload rejoins the same thread — and with
 * `useChat({ resume: true })` the run still in progress on it.
 */
export function threadIdFromLocation(): string {
  const url = new URL(window.location.href);
  const existing = url.searchParams.get("thread");
  if (existing && /^[A-Za-z0-9_-]{1,128}$/.test(existing)) return existing;
  const id = `chat_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  url.searchParams.set("thread", id);
  window.history.replaceState(null, "", url);
  return id;
}
