// Apollo Client's automatic persisted queries link (`@apollo/client/link/persisted-queries`,
// hashed queries over GET) against a live Cartograph: argv[2] is the /graphql URL. Runs one
// query three times (two clients, the second sharing nothing with the first) and prints one
// JSON line: every HTTP request the clients sent (method, whether a query text went along, the
// hash) with the status and Cache-Control of its answer, and each result's data.
import { createHash } from "node:crypto";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const uri = process.argv[2];
const requests = [];

async function recordingFetch(url, init) {
  const method = init?.method ?? "GET";
  let body = {};
  if (method === "GET") {
    const params = new URL(url).searchParams;
    body = {
      query: params.get("query") ?? undefined,
      extensions: params.has("extensions") ? JSON.parse(params.get("extensions")) : undefined,
    };
  } else {
    body = JSON.parse(init.body);
  }
  const response = await fetch(url, init);
  requests.push({
    method,
    withQuery: typeof body.query === "string",
    hash: body.extensions?.persistedQuery?.sha256Hash ?? null,
    status: response.status,
    cacheControl: response.headers.get("cache-control"),
  });
  return response;
}

function client() {
  const persisted = new PersistedQueryLink({
    sha256: (text) => createHash("sha256").update(text).digest("hex"),
    useGETForHashedQueries: true,
  });
  return new ApolloClient({
    link: ApolloLink.from([persisted, new HttpLink({ uri, fetch: recordingFetch })]),
    cache: new InMemoryCache(),
  });
}

const LISTING = gql`
  query Listing {
    catalogEntities(limit: 5) {
      totalCount
      items {
        slug
      }
    }
  }
`;

const results = [];
const first = client();
for (const apollo of [first, first, client()]) {
  const { data, error } = await apollo.query({ query: LISTING, fetchPolicy: "network-only" });
  if (error) throw error;
  results.push(data);
}
console.log(JSON.stringify({ requests, results }));
