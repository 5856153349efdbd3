# One image recipe for every service: docker build --build-arg SERVICE=gateway|api|worker .
# Stages: deps (install from the lockfile) → build (tsc the service and the packages it uses) →
# runtime (production dependencies only, non-root, healthcheck on /readyz).
ARG NODE_VERSION=20.19

FROM node:${NODE_VERSION}-bookworm-slim AS base
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
# pnpm 10 exactly: pnpm 11 crashes on Node 20.
RUN npm install -g pnpm@10.34.9 && npm cache clean --force
WORKDIR /app

FROM base AS build
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=gateway|api|worker" >&2; exit 1)
COPY . .
RUN pnpm install --frozen-lockfile
RUN pnpm exec turbo run build --filter="@threadline/${SERVICE}..."
# The API serves the web console's static files (packages/console/dist) at /.
RUN if [ "$SERVICE" = api ]; then pnpm exec turbo run build --filter=@threadline/console; fi
# Drop devDependencies; workspace packages stay linked and are loaded from their dist/.
RUN CI=true pnpm install --frozen-lockfile --prod --filter="@threadline/${SERVICE}..."

FROM base AS runtime
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE} HOST=0.0.0.0
COPY --from=build --chown=node:node /app /app
# The image's unprivileged user; the services bind ports above 1024.
USER node
# Every service (the worker too) answers /readyz once its Redis is reachable; PORT falls back to
# each service's default (api 3000, gateway 3001, worker 3002).
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 \
  CMD node -e "const p=process.env.PORT||{api:3000,gateway:3001,worker:3002}[process.env.SERVICE];fetch('http://127.0.0.1:'+p+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node itself is PID 1, no pnpm or sh in between: `docker stop`'s SIGTERM reaches the service, which
# ends its streams and hands running jobs back within its grace period (pnpm as PID 1 exited at once,
# and the kernel killed the service with it). The services spawn no children, so no init is needed to
# reap them. tests/faults/container-signals.test.ts runs this exact WORKDIR + CMD as PID 1 of a PID
# namespace.
WORKDIR /app/services/${SERVICE}
CMD ["node", "dist/main.js"]
