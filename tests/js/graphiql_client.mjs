// GraphiQL's subscription client against a live server: graphql-ws as GraphiQL makes it from
// `subscriptionUrl`, with the Headers tab as its connectionParams. Runs a query and a
// subscription (which must end by itself) and prints {"query": [...], "subscription": [...]},
// or {"closed": {code, reason}} when the server closes the socket. Needs a global WebSocket
// (Node 22, or Node 20 with --experimental-websocket).
// Usage: node --experimental-websocket graphiql_client.mjs ws://HOST/graphql '{"x-api-key": "..."}' \
//   'subscription { ... }'
import { createClient } from "graphql-ws";

const [url, headers, subscriptionQuery] = process.argv.slice(2);
const client = createClient({ url, connectionParams: JSON.parse(headers), retryAttempts: 0 });

async function collect(query) {
  const results = [];
  for await (const result of client.iterate({ query })) results.push(result);
  return results;
}

try {
  const query = await collect("{ apiKeys { totalCount } }");
  const subscription = await collect(subscriptionQuery);
  console.log(JSON.stringify({ query, subscription }));
} catch (error) {
  // graphql-ws rejects with the CloseEvent when the server closes the socket.
  console.log(JSON.stringify({ closed: { code: error.code, reason: error.reason } }));
} finally {
  await client.dispose();
}
