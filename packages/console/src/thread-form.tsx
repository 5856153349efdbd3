import { type FormEvent, useEffect, useState } from "react";

export interface ThreadFormProps {
  threadId: string | undefined;
  onOpen: (threadId: string) => void;
}

/** Opens any thread by id: everything retained is replayed, then it streams live. */
export function ThreadForm({ threadId, onOpen }: ThreadFormProps) {
  const [value, setValue] = useState(threadId ?? "");
  useEffect(() => setValue(threadId ?? ""), [threadId]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (value.trim()) onOpen(value.trim());
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="open-title">
      <h2 id="open-title">Open a thread</h2>
      <label htmlFor="open-thread">Thread id</label>
      <input
        id="open-thread"
        name="threadId"
        spellCheck={false}
        placeholder="e.g. demo-1795373337"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        pattern="[A-Za-z0-9_\-]{1,128}"
        title="letters, digits, _ and -, up to 128"
        required
      />
      <button type="submit">Open</button>
    </form>
  );
}
