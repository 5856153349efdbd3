import type { FastifyInstance } from "fastify";

/**
 * JSON is the only body the API accepts: anything else is 415. An empty JSON body reads as
 * `undefined` (so `POST …/cancel` with a content type but no body works, and `POST …/runs` says
 * which field is missing instead of "empty body").
 */
export function installJsonBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === "") return done(null, undefined);
    parseJson(request, text, done);
  });
}
