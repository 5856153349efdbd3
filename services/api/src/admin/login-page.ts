/** The login form: paste an admin JWT (`pnpm threadline token --sub you --role admin`). No scripts, no assets. */
export const LOGIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Threadline queue dashboard: log in</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; color: #222; }
textarea { width: 100%; height: 8rem; font: 13px monospace; }
button { margin-top: .75rem; padding: .4rem 1.2rem; }
code { background: #f2f2f2; padding: 0 .25rem; }
</style>
</head>
<body>
<h1>Queue dashboard</h1>
<p>Paste a token with <code>role: "admin"</code>. Mint one with
<code>pnpm threadline token --sub you --role admin</code>. The session cookie lasts at most 15 minutes.</p>
<form method="post" action="/admin/login">
<label for="token">Admin token</label>
<textarea id="token" name="token" required autocomplete="off" spellcheck="false"></textarea>
<button type="submit">Open the dashboard</button>
</form>
</body>
</html>
`;
