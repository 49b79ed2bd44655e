// graphql-http's audit of a GraphQL-over-HTTP server: every MUST and SHOULD check must pass; the
// MAY checks are listed for information. Exits 1 when a MUST fails or a SHOULD warns.
//
// Usage: node audit.cjs URL   (the `graphql-http` package found through NODE_PATH)
"use strict";
const { serverAudits } = require("graphql-http");

(async () => {
  let failed = 0;
  let passed = 0;
  for (const audit of serverAudits({ url: process.argv[2] })) {
    const result = await audit.fn();
    if (result.status === "ok") {
      passed += 1;
    } else if (result.status === "notice") {
      console.log(`may:  ${audit.name} (${result.reason})`);
    } else {
      failed += 1;
      console.error(`${result.status}: ${audit.name} (${result.reason})`);
    }
  }
  console.log(`${passed} checks passed, ${failed} failed or warned`);
  process.exit(failed === 0 ? 0 : 1);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
