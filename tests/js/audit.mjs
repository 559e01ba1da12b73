// Runs graphql-http's server audit (GraphQL over HTTP spec conformance) against a live
// server and prints one JSON line per audit: {id, name, status, reason}.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs URL");
  process.exit(2);
}
const results = await auditServer({ url });
for (const result of results) {
  const reason = result.status === "ok" ? null : result.reason;
  console.log(JSON.stringify({ id: result.id, name: result.name, status: result.status, reason }));
}
