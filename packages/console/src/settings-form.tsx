import { type FormEvent, useState } from "react";
import type { ConsoleSettings } from "./console-settings.js";
import { describeToken } from "./console-settings.js";

export interface SettingsFormProps {
  settings: ConsoleSettings;
  onSave: (settings: ConsoleSettings) => void;
}

/** Token paste box and gateway URL; `pnpm start` prints a URL with `#token=` that fills this in. */
export function SettingsForm({ settings, onSave }: SettingsFormProps) {
  const [token, setToken] = useState(settings.token);
  const [gatewayUrl, setGatewayUrl] = useState(settings.gatewayUrl);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSave({ token: token.trim(), gatewayUrl: gatewayUrl.trim().replace(/\/+$/, "") });
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="settings-title">
      <h2 id="settings-title">Connection</h2>
      <label htmlFor="token">Token (JWT)</label>
      <input
        id="token"
        name="token"
        type="password"
        autoComplete="off"
        spellCheck={false}
        placeholder="paste the dev token that pnpm start prints"
        value={token}
        onChange={(e) => setToken(e.target.value)}
      />
      <p className="hint" id="token-info">
        {describeToken(settings.token)}
      </p>
      <label htmlFor="gateway-url">Gateway URL</label>
      <input
        id="gateway-url"
        name="gatewayUrl"
        type="url"
        spellCheck={false}
        value={gatewayUrl}
        onChange={(e) => setGatewayUrl(e.target.value)}
      />
      <button type="submit">Save</button>
    </form>
  );
}
