export interface NginxUpstreams {
  /** `host:port` of each gateway. */
  gateways: string[];
  /** `host:port` of each API. */
  apis: string[];
  /** Port nginx listens on (127.0.0.1 only). */
  listenPort: number;
  /** `max_fails`/`fail_timeout` appended to each server line; default as in the committed file. */
  serverParams?: string;
  /** Also serve HTTP/2 over TLS on this port with this certificate (PEM files). */
  tls?: { port: number; certPath: string; keyPath: string };
}

const DEFAULT_SERVER_PARAMS = "max_fails=1 fail_timeout=5s";

/**
 * Renders infra/nginx/threadline.conf for processes on local ports: replaces the blocks between
 * `# BEGIN <name>` and `# END <name>` (gateways, apis, listen) and keeps everything else, so the
 * tests exercise the very file docker-compose mounts.
 */
export function renderNginxConf(template: string, upstreams: NginxUpstreams): string {
  if (upstreams.gateways.length === 0 || upstreams.apis.length === 0) {
    throw new Error("renderNginxConf: give at least one gateway and one API");
  }
  const params = upstreams.serverParams ?? DEFAULT_SERVER_PARAMS;
  const servers = (list: string[]) => list.map((address) => `server ${address} ${params};`);
  let conf = template;
  conf = replaceBlock(conf, "gateways", servers(upstreams.gateways));
  conf = replaceBlock(conf, "apis", servers(upstreams.apis));
  conf = replaceBlock(conf, "listen", [`listen 127.0.0.1:${upstreams.listenPort};`]);
  const { tls } = upstreams;
  conf = replaceBlock(
    conf,
    "tls",
    tls
      ? [
          `listen 127.0.0.1:${tls.port} ssl http2;`,
          `ssl_certificate ${tls.certPath};`,
          `ssl_certificate_key ${tls.keyPath};`,
        ]
      : [],
  );
  return conf;
}

function replaceBlock(conf: string, name: string, lines: string[]): string {
  const pattern = new RegExp(`^([ \\t]*)# BEGIN ${name}\\n[\\s\\S]*?^[ \\t]*# END ${name}$`, "m");
  const match = pattern.exec(conf);
  if (!match) {
    throw new Error(`nginx template has no "# BEGIN ${name}" … "# END ${name}" block; restore the markers`);
  }
  const indent = match[1] ?? "";
  const body = [`# BEGIN ${name}`, ...lines, `# END ${name}`].map((l) => indent + l).join("\n");
  return conf.slice(0, match.index) + body + conf.slice(match.index + match[0].length);
}
