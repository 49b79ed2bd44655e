// The parts of bench/load.sh that handle JSON: request bodies, the check before each query is
// timed, and the result table. Run with the Node the script installs (22, for fetch).
import { readFileSync, writeFileSync, appendFileSync } from "node:fs";

const [command, ...args] = process.argv.slice(2);

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function post(url, body, timeoutMs = 120_000) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // reported below with the text
  }
  return { status: response.status, text, json };
}

/** True when some list or object under the answer's root fields holds something. */
function nonEmpty(value) {
  if (value === null || value === undefined) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") {
    if (Array.isArray(value.nodes)) return value.nodes.length > 0;
    return Object.values(value).some(nonEmpty);
  }
  return true;
}

const commands = {
  // body QUERY_FILE VARIABLES_JSON OUT: the POST body, with the variables the query declares.
  body([queryFile, variablesJson, out]) {
    const query = readFileSync(queryFile, "utf8");
    const all = JSON.parse(variablesJson);
    const variables = {};
    for (const [name, value] of Object.entries(all)) {
      if (new RegExp(`\\$${name}\\b`).test(query)) variables[name] = value;
    }
    writeFileSync(out, JSON.stringify({ query, variables }));
  },

  // wait URL SECONDS: until the GraphQL endpoint answers a trivial query.
  async wait([url, seconds]) {
    const until = Date.now() + Number(seconds) * 1000;
    for (;;) {
      try {
        const r = await post(url, JSON.stringify({ query: "{ __typename }" }), 5_000);
        if (r.status === 200 && r.json?.data) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) fail(`${url} did not answer within ${seconds} s`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  },

  // check URL BODY_FILE: one request; fails with the answer shown on errors or an empty answer.
  // A question abandoned at the deadline (a rollup still being built) is asked again.
  async check([url, bodyFile]) {
    const body = readFileSync(bodyFile, "utf8");
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const r = await post(url, body);
      const ms = performance.now() - started;
      const codes = (r.json?.errors ?? []).map((e) => e.extensions?.code);
      if (attempt < 4 && codes.length > 0 && codes.every((c) => c === "TIMEOUT")) {
        process.stderr.write(`  answered TIMEOUT after ${ms.toFixed(0)} ms; asking again\n`);
        continue;
      }
      const shown = r.text.length > 2000 ? `${r.text.slice(0, 2000)}…` : r.text;
      if (r.status !== 200 || !r.json) fail(`HTTP ${r.status}: ${shown}`);
      if (r.json.errors) fail(`errors in the answer: ${shown}`);
      if (!nonEmpty(r.json.data)) fail(`empty answer: ${shown}`);
      console.log(`  checked: ${r.text.length} bytes in ${ms.toFixed(0)} ms`);
      return;
    }
  },

  // settled SECONDS URL...: waits until none of these servers is building a grouping in the
  // background (see bench/load.sh), and says how long that took when it was noticeable.
  async settled([seconds, ...urls]) {
    const until = Date.now() + Number(seconds) * 1000;
    const started = performance.now();
    for (const url of urls) {
      const metrics = new URL("/metrics", url);
      for (;;) {
        const text = await (await fetch(metrics)).text();
        const line = text.split("\n").find((l) => l.startsWith("c2c_rollup_builds_in_background "));
        if (line === undefined) {
          process.stderr.write(`  ${metrics} shows no builds in the background; not waiting\n`);
          break;
        }
        if (Number(line.split(" ")[1]) === 0) break;
        if (Date.now() > until) fail(`${url} still building in the background after ${seconds} s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const ms = performance.now() - started;
    if (ms > 500) console.log(`  waited ${(ms / 1000).toFixed(1)} s for builds in the background`);
  },

  // ids URL: a donor with an agenda and an open need, as the variables of the donor questions.
  async ids([url]) {
    const query = `{
      donors(first: 100) { nodes { id agenda { themes orientations countryCodes } } }
      needs(first: 1, filter: { status: OPEN }) { nodes { id } }
    }`;
    const r = await post(url, JSON.stringify({ query }));
    if (!r.json?.data || r.json.errors) fail(`cannot read ids: ${r.text.slice(0, 2000)}`);
    const donor = r.json.data.donors.nodes.find(
      (d) => d.agenda.themes.length + d.agenda.orientations.length + d.agenda.countryCodes.length > 0,
    );
    const need = r.json.data.needs.nodes[0];
    if (!donor || !need) fail(`no donor with an agenda or no open need: ${r.text.slice(0, 2000)}`);
    console.log(JSON.stringify({ donor: donor.id, need: need.id }));
  },

  // record RESULTS QUERY SERVER WRK_OUTPUT JSON_OF_PROCESS_FIGURES: one row of results.
  record([results, query, server, wrkOutput, processJson]) {
    const line = readFileSync(wrkOutput, "utf8")
      .split("\n")
      .find((l) => l.startsWith("BENCH_JSON "));
    if (!line) fail(`no summary in the wrk output:\n${readFileSync(wrkOutput, "utf8")}`);
    const w = JSON.parse(line.slice("BENCH_JSON ".length));
    const p = JSON.parse(processJson);
    const seconds = w.duration_us / 1e6;
    const row = {
      query,
      server,
      rps: w.requests / seconds,
      requests: w.requests,
      p50_ms: w.p50_us / 1000,
      p95_ms: w.p95_us / 1000,
      p99_ms: w.p99_us / 1000,
      max_ms: w.max_us / 1000,
      socket_errors: w.connect + w.read + w.write + w.timeout,
      non_200: w.non_200,
      graphql_errors: w.graphql_errors,
      first_error: w.first_error,
      ...p,
    };
    row.errors = row.socket_errors + row.non_200 + row.graphql_errors;
    appendFileSync(results, `${JSON.stringify(row)}\n`);
    if (row.errors > 0) {
      process.stderr.write(
        `  ${row.errors} errors (socket ${row.socket_errors}, non-200 ${row.non_200}, GraphQL ${row.graphql_errors})` +
          (row.first_error ? `; first: ${row.first_error}\n` : "\n"),
      );
    }
  },

  // table RESULTS MARKDOWN_OUT HEADER: prints the table and writes it as markdown.
  table([results, markdownOut, header]) {
    const rows = readFileSync(results, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const num = (x, digits = 0) =>
      x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
    const ms = (x) => (x >= 100 ? num(x) : num(x, 1));
    const columns = [
      "query",
      "server",
      "rps",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "errors",
      "peak RSS MiB",
      "CPU %",
      "PostgreSQL CPU %",
    ];
    const cells = (r) => [
      r.query,
      r.server,
      num(r.rps, r.rps < 100 ? 1 : 0),
      ms(r.p50_ms),
      ms(r.p95_ms),
      ms(r.p99_ms),
      num(r.errors),
      num(r.peak_rss_kib / 1024, 1),
      num(r.cpu_percent),
      r.pg_cpu_percent === null ? "–" : num(r.pg_cpu_percent),
    ];
    const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : "–");
    // Ratio rows after the rows of each query both servers answered: this service with its
    // response cache (the default) and without it, each against PostGraphile.
    const ours = [
      ["c2c-forum", "ours / PostGraphile"],
      ["c2c-forum-uncached", "uncached / PostGraphile"],
    ];
    const out = [];
    for (const r of rows) {
      out.push(cells(r));
      const theirs = rows.find((o) => o.query === r.query && o.server === "postgraphile");
      const last = rows.filter((o) => o.query === r.query).at(-1) === r;
      if (!theirs || !last) continue;
      for (const [server, label] of ours) {
        const mine = rows.find((o) => o.query === r.query && o.server === server);
        if (!mine) continue;
        out.push([
          r.query,
          label,
          ratio(mine.rps, theirs.rps),
          ratio(mine.p50_ms, theirs.p50_ms),
          ratio(mine.p95_ms, theirs.p95_ms),
          ratio(mine.p99_ms, theirs.p99_ms),
          "",
          ratio(mine.peak_rss_kib, theirs.peak_rss_kib),
          ratio(mine.cpu_percent, theirs.cpu_percent),
          mine.pg_cpu_percent === null ? "–" : ratio(mine.pg_cpu_percent, theirs.pg_cpu_percent),
        ]);
      }
    }
    const widths = columns.map((c, i) => Math.max(c.length, ...out.map((row) => String(row[i]).length)));
    const text = (row) =>
      row.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
    console.log(text(columns));
    for (const row of out) console.log(text(row));
    const md = [
      header,
      "",
      `| ${columns.join(" | ")} |`,
      `|${columns.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`,
      ...out.map((row) => `| ${row.map((c, i) => (i === 0 ? `\`${c}\`` : c)).join(" | ")} |`),
      "",
    ].join("\n");
    writeFileSync(markdownOut, md);
  },
};

const run = commands[command];
if (!run) fail(`unknown command ${command}`);
await run(args);
