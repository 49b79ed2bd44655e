// GraphiQL in a real Chromium with no network beyond the service: opens the page, waits for the
// documentation explorer to list `Query`, types a query, runs it, looks for an expected value
// in the result, and opens and closes the settings dialog. Exits 1 when any step fails, when the page asks for anything that is not on the
// service's origin, or when the browser logs an error (a Content-Security-Policy violation among
// them).
//
// Usage: node graphiql.mjs PAGE_URL EXPECTED
//   C2C_CHROMIUM  the Chromium executable (Debian's `chromium`; never a browser of Playwright's)
//   NODE_PATH     a node_modules folder holding `playwright-core`
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const [pageUrl, expected] = process.argv.slice(2);
const origin = new URL(pageUrl).origin;
const STEP_MS = 30_000;

// A hung browser must not hang the test run.
const deadline = setTimeout(() => {
  console.error("graphiql.mjs: no result within 120 s");
  process.exit(1);
}, 120_000);

const problems = [];
const blocked = [];

const browser = await chromium.launch({
  executablePath: process.env.C2C_CHROMIUM,
  headless: true,
  // Each launch gets a fresh, temporary profile. The flags keep Chromium from calling home on
  // its own (updates, sync, field trials), which no page routing would see.
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

let step = "starting";
try {
  const context = await browser.newContext();
  // Nothing but the service: any other request is refused and reported.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) {
      return route.continue();
    }
    blocked.push(url);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("console", (message) => {
    if (message.type() === "error") {
      problems.push(`console error: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("response", (response) => {
    if (response.status() >= 400) {
      problems.push(`${response.status()} for ${response.url()}`);
    }
  });
  page.on("requestfailed", (request) => {
    if (new URL(request.url()).origin === origin) {
      problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
    }
  });

  step = "opening the page";
  const response = await page.goto(pageUrl);
  if (!response?.ok()) {
    throw new Error(`the page answered ${response?.status()}`);
  }

  step = "waiting for the documentation explorer to list Query";
  await page.getByRole("button", { name: "Show Documentation Explorer" }).click();
  await page.locator(".graphiql-doc-explorer").getByText("Query", { exact: true }).waitFor();

  step = "typing the query";
  const query = "{ countries { code } }";
  await page.locator(".graphiql-query-editor .CodeMirror").click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(query);
  await page.keyboard.press("Escape"); // closes the completion list, if one is open
  const typed = (
    await page.locator(".graphiql-query-editor .CodeMirror-line").allInnerTexts()
  ).join("\n");
  if (typed.replace(/\s+/g, " ").trim() !== query) {
    throw new Error(`the editor holds ${JSON.stringify(typed)}`);
  }

  step = "running it";
  await page.locator("button.graphiql-execute-button").click();

  step = `waiting for "${expected}" in the result`;
  await page
    .locator(".graphiql-response .CodeMirror-code")
    .filter({ hasText: `"code": "${expected}"` })
    .waitFor();
  console.log(`the result shows "code": "${expected}"`);

  // The dialogs write a <style> element of their own, which the policy must let through.
  step = "opening the settings dialog";
  await page.getByRole("button", { name: "Open settings dialog" }).click();
  await page.getByRole("dialog").waitFor();
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });
} catch (error) {
  problems.push(`while ${step}: ${error.message.split("\n")[0]}`);
} finally {
  await browser.close();
  clearTimeout(deadline);
}

for (const url of blocked) {
  problems.push(`asked for a URL off the service: ${url}`);
}
for (const problem of problems) {
  console.error(problem);
}
console.log(problems.length === 0 ? "GraphiQL works offline" : "GraphiQL failed");
process.exit(problems.length === 0 ? 0 : 1);
