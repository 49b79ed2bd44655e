// What a GraphQL tool does when it connects: sends graphql-js's own introspection query, with
// every option a current tool may turn on, builds a client schema from the answer and prints it.
// Exits 0 when that schema equals the committed SDL, 1 on an error answer, 2 on a difference.
//
// Usage: node introspection.cjs URL SDL_FILE   (the `graphql` package found through NODE_PATH)
"use strict";
const fs = require("fs");
const {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
} = require("graphql");

const [url, sdlFile] = process.argv.slice(2);
const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});

const printed = (schema) => printSchema(lexicographicSortSchema(schema));

(async () => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, operationName: "IntrospectionQuery" }),
  });
  const answer = await response.json();
  if (answer.errors || !answer.data) {
    console.error(JSON.stringify(answer));
    process.exit(1);
  }
  // async-graphql answers every schema's description with the same sentence about schemas in
  // general; the SDL has none. Types and directives are what tools build on.
  delete answer.data.__schema.description;
  const served = printed(buildClientSchema(answer.data));
  const committed = printed(buildSchema(fs.readFileSync(sdlFile, "utf8")));
  if (served !== committed) {
    const a = served.split("\n");
    const b = committed.split("\n");
    const at = a.findIndex((line, i) => line !== b[i]);
    console.error(`differs at line ${at + 1}:\n  served:    ${a[at]}\n  committed: ${b[at]}`);
    process.exit(2);
  }
  console.log(`the schema built from introspection equals the SDL (${served.split("\n").length} lines)`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

