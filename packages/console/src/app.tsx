import { createThreadlineClient } from "@threadline/client";
import { useThreadStream } from "@threadline/react";
import { useCallback, useEffect, useMemo, useState } from "react";
import { connectionDetail, connectionLabel } from "./connection-label.js";
import { type ConsoleSettings, formatHash, parseHash, storeSettings } from "./console-settings.js";
import { Conversation } from "./conversation.js";
import { errorMessage, newThreadId } from "./format.js";
import { RunForm, type RunFormValues } from "./run-form.js";
import { RunPanel, runStatus } from "./run-panel.js";
import { RunsBoard } from "./runs-board.js";
import { SettingsForm } from "./settings-form.js";
import { ThreadForm } from "./thread-form.js";
import { ThreadList } from "./thread-list.js";

export interface AppProps {
  initialSettings: ConsoleSettings;
  initialThread: string | undefined;
}

/** The console: settings and forms on the left, the open thread streaming on the right. */
export function App({ initialSettings, initialThread }: AppProps) {
  const [settings, setSettings] = useState(initialSettings);
  const [threadId, setThreadId] = useState(initialThread);
  const [selectedRun, setSelectedRun] = useState<string | undefined>(undefined);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | undefined>(undefined);
  const [cancelError, setCancelError] = useState<string | undefined>(undefined);
  const [fallbackThread] = useState(newThreadId);
  // Every thread opened here, watched together on the runs board over one connection.
  const [board, setBoard] = useState<string[]>(initialThread ? [initialThread] : []);
  // A new token or gateway makes a new client, which restarts the stream (e.g. after a 403).
  const client = useMemo(
    () =>
      createThreadlineClient({
        apiUrl: window.location.origin,
        gatewayUrl: settings.gatewayUrl,
        getToken: () => settings.token,
      }),
    [settings.gatewayUrl, settings.token],
  );
  const stream = useThreadStream(threadId, {
    client,
    from: "start",
    shareAcrossTabs: true,
    enabled: Boolean(settings.token),
  });

  const open = useCallback((id: string) => {
    setThreadId(id);
    setBoard((ids) => (ids.includes(id) ? ids : [...ids, id]));
    setSelectedRun(undefined);
    window.history.replaceState(null, "", formatHash(id) || window.location.pathname);
  }, []);

  useEffect(() => {
    const onHash = () => {
      const { thread, token: fromHash } = parseHash(window.location.hash);
      if (fromHash) {
        setSettings((s) => {
          const next = { ...s, token: fromHash };
          storeSettings(window.localStorage, next);
          return next;
        });
        window.history.replaceState(null, "", formatHash(thread) || window.location.pathname);
      }
      if (thread) open(thread);
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, [open]);

  const save = (next: ConsoleSettings) => {
    storeSettings(window.localStorage, next);
    setSettings(next);
  };

  const start = async (values: RunFormValues) => {
    setStarting(true);
    setStartError(undefined);
    try {
      if (values.threadId !== threadId) open(values.threadId);
      const created = await client.runs.create(values.threadId, {
        agent: values.agent,
        input: { prompt: values.prompt, tokensPerSecond: values.tokensPerSecond },
      });
      setSelectedRun(created.runId);
    } catch (error) {
      setStartError(errorMessage(error));
    } finally {
      setStarting(false);
    }
  };

  const cancel = async (runId: string) => {
    setCancelError(undefined);
    if (!threadId) return;
    try {
      await client.runs.cancel(threadId, runId);
    } catch (error) {
      setCancelError(errorMessage(error));
    }
  };

  const { view, connection } = stream;
  const label = connectionLabel(connection, Boolean(threadId && settings.token), view.gaps.length);
  const run = (selectedRun && view.runs[selectedRun]) || view.current;
  // The history views reload when a run of the open thread changes state (list) or ends (conversation).
  const statuses = view.runIds.map((id) => `${id}:${view.runs[id]?.status ?? ""}`).join(",");
  const finished = view.runIds.filter((id) => view.runs[id]?.finished).join(",");

  return (
    <div className="layout">
      <header className="top">
        <h1>Threadline console</h1>
        <div className="connection" role="status" aria-live="polite">
          <span id="connection-state" className={`badge badge-${label}`}>
            {label}
          </span>
          <span className="hint">{connectionDetail(connection)}</span>
        </div>
      </header>
      <aside className="side">
        {settings.token ? null : (
          <p className="notice" role="alert">
            Paste a token below, or open the URL that <code>pnpm start</code> prints (it ends in{" "}
            <code>#token=…</code>).
          </p>
        )}
        <RunForm
          defaultThreadId={threadId ?? fallbackThread}
          busy={starting}
          disabled={!settings.token}
          onStart={start}
        />
        {startError ? (
          <p className="error" role="alert" id="start-error">
            Could not start the run: {startError}
          </p>
        ) : null}
        <ThreadList
          client={client}
          enabled={Boolean(settings.token)}
          current={threadId}
          refreshKey={`${threadId ?? ""}|${statuses}`}
          onOpen={open}
        />
        <ThreadForm threadId={threadId} onOpen={open} />
        <SettingsForm settings={settings} onSave={save} />
      </aside>
      <main className="main" aria-labelledby="thread-title">
        <h2 id="thread-title">{threadId ? `Thread ${threadId}` : "No thread open"}</h2>
        {stream.error ? (
          <p className="error" role="alert" id="stream-error">
            The stream stopped: {errorMessage(stream.error)}
          </p>
        ) : null}
        {view.gaps.map((gap) => (
          <p className="error" role="alert" key={`${gap.after ?? "start"}-${gap.message}`}>
            Gap: {gap.message}
          </p>
        ))}
        {view.runIds.length > 1 ? (
          <nav aria-label="Runs of this thread" className="runs">
            {view.runIds.map((id) => (
              <button
                type="button"
                key={id}
                aria-pressed={id === run?.runId}
                onClick={() => setSelectedRun(id)}
              >
                {id.slice(-8)} · {(view.runs[id] && runStatus(view.runs[id])) ?? "?"}
              </button>
            ))}
          </nav>
        ) : null}
        <RunsBoard
          client={client}
          threads={board}
          current={threadId}
          enabled={Boolean(settings.token)}
          onOpen={open}
          onRemove={(id) => setBoard((ids) => ids.filter((t) => t !== id))}
        />
        {run ? (
          <RunPanel run={run} onCancel={cancel} cancelError={cancelError} />
        ) : (
          <p className="hint">
            {threadId
              ? "Waiting for the first run on this thread…"
              : "Start a run, or open a thread from the list or by its id."}
          </p>
        )}
        {threadId ? (
          <Conversation
            client={client}
            threadId={threadId}
            enabled={Boolean(settings.token)}
            refreshKey={finished}
            onSelectRun={setSelectedRun}
          />
        ) : null}
      </main>
    </div>
  );
}
