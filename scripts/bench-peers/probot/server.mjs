// The Probot peer of `make bench`: a Probot 14 app that receives GitHub
// webhooks on PORT with the same secret hedgesync uses, verifies them and
// runs an empty handler, as a Probot app does before its own work.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { Probot, createNodeMiddleware } from "probot";

const probot = new Probot({
  appId: 12345,
  privateKey: readFileSync(process.env.PRIVATE_KEY_PATH, "utf8"),
  secret: process.env.WEBHOOK_SECRET,
  logLevel: "warn",
});
const middleware = await createNodeMiddleware(
  (app) => {
    app.on("push", async () => {});
  },
  { probot, webhooksPath: "/api/github/webhooks" },
);
createServer((req, res) => {
  middleware(req, res, () => {
    res.writeHead(404).end();
  });
}).listen(Number(process.env.PORT), "127.0.0.1", () => {
  console.log(`probot listening on ${process.env.PORT}`);
});
