// GraphiQL's own page in headless Chromium, driven through its UI as a person would: the
// Headers tab and the query editor are typed into with the keyboard, the run button is clicked,
// and what the result pane shows is reported. One browser and one page for a whole session.
//
// Usage: node graphiql_browser.mjs CHROMIUM http://HOST/graphql
// Prints {"ready": true} once GraphiQL has loaded, then reads one JSON command a line on stdin,
// {"headers": "...", "query": "..."}, and answers each with one line,
// {"results": [every text the result pane showed during the run, in order], "final": "..."},
// or {"error": "..."} when a step timed out or the editors did not hold what was typed.
// Exits when stdin closes. Every step is bounded (STEP_TIMEOUT, LOAD_TIMEOUT).
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [executablePath, url] = process.argv.slice(2);
const LOAD_TIMEOUT = 15_000; // launching Chromium and loading GraphiQL, on a busy machine
const STEP_TIMEOUT = 8_000; // one click, one editor's typing, one run

const EXECUTE = ".graphiql-execute-button";
const HEADERS_TAB = ".graphiql-editor-tools button:text-is('Headers')";
// The Variables and Headers editors share one section; the tab shown hides the other.
const HEADERS_EDITOR =
  "section.graphiql-editor-tool[aria-label='Headers'] .graphiql-editor:not(.hidden) .CodeMirror";
const QUERY_EDITOR = "section.graphiql-query-editor .CodeMirror";
const RESULT_EDITOR = "section.result-window .CodeMirror";

const firstLine = (error) => String(error.message).split("\n")[0];
const say = (message) => process.stdout.write(JSON.stringify(message) + "\n");

const browser = await chromium.launch({ executablePath, headless: true, timeout: LOAD_TIMEOUT });
const page = await browser.newPage();
page.setDefaultTimeout(STEP_TIMEOUT);
const pageErrors = [];
page.on("pageerror", (error) => pageErrors.push(error.message));

/** What a CodeMirror editor holds (CodeMirror 5 hangs itself on its wrapper element). */
const editorValue = (selector) =>
  page.$eval(selector, (element) => element.CodeMirror.getValue());

/** Replace what an editor holds by typing, key by key, as a person would. */
async function typeInto(selector, text) {
  await page.click(selector);
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(text);
  const typed = await editorValue(selector);
  if (typed !== text) throw new Error(`${selector} holds ${JSON.stringify(typed)} after typing`);
}

/** Watch the result pane and the run button from inside the page: every text the pane shows
 * once GraphiQL has emptied it for the run, and whether the button has turned into "Stop" (a
 * run started) and back (it ended). */
function watchRun(selectors) {
  const result = document.querySelector(selectors.result).CodeMirror;
  const button = () => document.querySelector(selectors.execute);
  const run = { texts: [], cleared: false, started: false, ended: false };
  const look = () => {
    const text = result.getValue();
    if (!text) run.cleared = true;
    else if (run.cleared && text !== run.texts[run.texts.length - 1]) run.texts.push(text);
    const label = button()?.getAttribute("aria-label") ?? "";
    if (label.startsWith("Stop")) run.started = true;
    else if (run.started) run.ended = true;
  };
  window.__stopWatching?.();
  const observer = new MutationObserver(look);
  observer.observe(document.querySelector(".graphiql-container"), {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ["aria-label"],
  });
  result.on("change", look);
  window.__stopWatching = () => {
    observer.disconnect();
    result.off("change", look);
  };
  window.__run = run;
}

async function execute({ headers, query }) {
  await page.click(HEADERS_TAB);
  await typeInto(HEADERS_EDITOR, headers);
  await typeInto(QUERY_EDITOR, query);
  await page.evaluate(watchRun, { result: RESULT_EDITOR, execute: EXECUTE });
  await page.click(EXECUTE);
  await page.waitForFunction(() => window.__run.ended, null, { timeout: STEP_TIMEOUT });
  const texts = await page.evaluate(() => window.__run.texts);
  return { results: texts, final: await editorValue(RESULT_EDITOR) };
}

try {
  await page.goto(url, { timeout: LOAD_TIMEOUT });
  await page.waitForSelector(`${EXECUTE}[aria-label^='Execute']`, { timeout: LOAD_TIMEOUT });
  say({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    try {
      say(await execute(JSON.parse(line)));
    } catch (error) {
      say({ error: firstLine(error), pageErrors });
    }
  }
} catch (error) {
  say({ error: firstLine(error), pageErrors });
} finally {
  await browser.close();
}
