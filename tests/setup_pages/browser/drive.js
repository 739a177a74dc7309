// Drives the add-on's built setup pages in headless Chromium (Debian's /usr/bin/chromium via
// playwright-core; no browser is downloaded) as an admin would, and reports what they saw.
//
//   node drive.js job.json
// job.json: {"origin", "app", "chromium", "simulatorUrl", "goodToken", "refusedToken", "eventTypes",
//            "startDate", "screenshots": "<dir>"|null, "report": "<report.json path>"}
// report.json: {"steps": {"<step>": {...what the page showed...}}, "consoleErrors": [...],
//               "failedResponses": [...], "screenshots": [...], "problems": [...]}
//
// The browser reaches nothing but the Splunk Web stand-in (every other host fails to resolve).
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const TIMEOUT_MS = 30000;
const ARGS = ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--no-sandbox', '--disable-gpu',
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--hide-scrollbars', '--font-render-hinting=none'];

function dialog(page) {
  return page.getByRole('dialog');
}

async function openTab(page, job, view, tab) {
  await page.goto(`${job.origin}/en-US/app/${job.app}/${view}${tab ? `?tab=${tab}` : ''}`);
  await page.getByText('Add-on Version:').waitFor();
}

function field(page, scope, label) {
  const name = page.locator('[data-test="label"]', { hasText: new RegExp(`^\\*?${label}$`) });
  return scope.locator('[data-test="control-group"]').filter({ has: name }).first();
}

// a dropdown: opened and the option clicked; a combo box (a value may be typed): the name typed,
// then the matching option clicked
async function chooseOption(page, scope, label, option) {
  const control = field(page, scope, label);
  const combo = control.locator('input[role="combobox"], [data-test="combo-box"] input');
  if (await combo.count()) {
    await combo.first().fill(option);
  } else {
    await control.locator('[data-test="select"], [aria-haspopup]').first().click();
  }
  await page.getByRole('option', { name: option, exact: true }).click();
}

// the visible error of the open dialog (UCC shows one message above the fields)
async function dialogError(page) {
  const message = dialog(page).locator('[data-test="msg-error"], [data-test-type="error"], [role="alert"]').first();
  await message.waitFor({ timeout: TIMEOUT_MS });
  return (await message.innerText()).trim();
}

async function fillAccount(page, job, name, token, customUrl) {
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const form = dialog(page);
  await form.waitFor();
  await form.getByRole('textbox', { name: 'Name' }).fill(name);
  await chooseOption(page, form, 'Region', 'Custom URL');
  await form.getByRole('textbox', { name: 'Custom URL' }).fill(customUrl || job.simulatorUrl);
  await form.getByRole('textbox', { name: 'Events Reporting token' }).fill(token);
  return form;
}

async function submit(form) {
  await form.getByRole('button', { name: /^(Add|Save|Update)$/ }).click();
}

async function tableRows(page) {
  const rows = page.locator('table tbody tr');
  const out = [];
  for (let i = 0; i < await rows.count(); i += 1) {
    const cells = rows.nth(i).locator('td');
    const texts = [];
    for (let j = 0; j < await cells.count(); j += 1) texts.push((await cells.nth(j).innerText()).trim());
    out.push(texts);
  }
  return out;
}

async function waitForRow(page, name) {
  await page.locator('table tbody tr').filter({ hasText: name }).first().waitFor({ timeout: TIMEOUT_MS });
}

// the notice shown after a save ("Created ..."); gone before a screenshot is taken
async function notice(page, job, text) {
  const toast = page.getByText(text, { exact: true }).first();
  await toast.waitFor({ timeout: TIMEOUT_MS });
  const shown = (await toast.innerText()).trim();
  if (job.screenshots) await toast.waitFor({ state: 'detached', timeout: TIMEOUT_MS });
  return shown;
}

const SCREEN = { width: 1280, height: 800 };
const DIALOG_SCREEN = { width: 1280, height: 1150 }; // the whole Add Account dialog, unscrolled

async function shot(page, job, report, name, size) {
  if (!job.screenshots) return;
  await page.setViewportSize(size || SCREEN);
  await page.mouse.move(0, 0);
  await page.waitForTimeout(600); // menus and dialogs finish their animations, the layout settles
  await page.screenshot({ path: path.join(job.screenshots, name) });
  await page.setViewportSize(SCREEN);
  report.screenshots.push(name);
}

async function scenario(page, job, report) {
  const steps = report.steps;
  await openTab(page, job, 'configuration');

  // 1. a token the Events API refuses: the handler's message in the dialog, nothing listed
  let form = await fillAccount(page, job, 'acme_refused', job.refusedToken);
  await submit(form);
  steps.refused = { error: await dialogError(page) };
  await form.getByRole('button', { name: 'Cancel' }).click();
  await form.waitFor({ state: 'detached' });
  steps.refused.rows = await tableRows(page);

  // 2. the simulator's token: saved, listed with the event types it grants, shown masked
  form = await fillAccount(page, job, 'acme', job.goodToken);
  await form.getByText('Add Accounts').click(); // the token field loses focus, as when moving on
  await shot(page, job, report, 'setup_add_account.png', DIALOG_SCREEN);
  await submit(form);
  await form.waitFor({ state: 'detached', timeout: TIMEOUT_MS * 2 });
  steps.good = { notice: await notice(page, job, 'Created "acme"') };
  await waitForRow(page, 'acme');
  steps.good.rows = await tableRows(page);
  await shot(page, job, report, 'setup_accounts.png');
  const row = page.locator('table tbody tr').filter({ hasText: 'acme' }).first();
  await row.getByRole('button', { name: /^Edit/ }).click();
  form = dialog(page);
  await form.waitFor();
  steps.good.tokenShownWhenEditing = await form.getByLabel('Events Reporting token').inputValue();
  await form.getByRole('button', { name: 'Cancel' }).click();
  await form.waitFor({ state: 'detached' });

  // 3. values the page refuses before sending anything
  form = await fillAccount(page, job, 'acme_userinfo', job.goodToken, 'https://svc:secret@events.example.com');
  await submit(form);
  steps.refusedInPage = { customUrl: await dialogError(page) };
  await form.getByRole('button', { name: 'Cancel' }).click();
  await form.waitFor({ state: 'detached' });

  // 4. the proxy: enabled and saved
  await openTab(page, job, 'configuration', 'proxy');
  await page.getByRole('checkbox', { name: 'Enable' }).click();
  await page.getByRole('textbox', { name: 'Host' }).fill('proxy.example.internal');
  await page.getByRole('textbox', { name: 'Port' }).fill('3128');
  await page.getByRole('textbox', { name: 'Username' }).fill('svc_splunk');
  await page.getByRole('textbox', { name: 'Password' }).fill('proxy-pass-123');
  await page.getByRole('button', { name: 'Save' }).click();
  const saved = page.getByText(/saved|updated/i).first();
  await saved.waitFor({ timeout: TIMEOUT_MS });
  steps.proxy = { message: (await saved.innerText()).trim() };

  // 5. an input reading the account
  await openTab(page, job, 'inputs');
  await page.getByRole('button', { name: /Create New Input|Add/ }).first().click();
  form = dialog(page);
  await form.waitFor();
  await form.getByRole('textbox', { name: 'Name' }).fill('acme_events');
  await chooseOption(page, form, 'Account', 'acme');
  for (const type of job.eventTypes) await chooseOption(page, form, 'Event types', type);
  await chooseOption(page, form, 'Index', 'onepassword');
  await form.getByRole('textbox', { name: 'Start time' }).fill(job.startDate);
  await form.getByRole('textbox', { name: 'Page size' }).fill('1001'); // one past the API's maximum
  await submit(form);
  steps.refusedInPage.pageSize = await dialogError(page);
  await form.getByRole('textbox', { name: 'Page size' }).fill('1000');
  await submit(form);
  await form.waitFor({ state: 'detached', timeout: TIMEOUT_MS * 2 });
  steps.input = { notice: await notice(page, job, 'Created "acme_events"') };
  await waitForRow(page, 'acme_events');
  steps.input.rows = await tableRows(page);
  await shot(page, job, report, 'setup_inputs.png');
}

(async () => {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const report = { steps: {}, consoleErrors: [], failedResponses: [], screenshots: [], problems: [] };
  const browser = await chromium.launch({ executablePath: job.chromium, args: ARGS });
  try {
    const page = await browser.newPage({ viewport: SCREEN });
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(m.text().slice(0, 500)); });
    page.on('pageerror', (e) => report.problems.push(`page error: ${e.message.slice(0, 500)}`));
    page.on('response', (r) => {
      if (r.status() >= 400) report.failedResponses.push({ status: r.status(), url: r.url() });
    });
    try {
      await scenario(page, job, report);
    } catch (error) {
      report.problems.push(`scenario stopped: ${error.message.split('\n').slice(0, 6).join(' | ')}`);
      const file = path.join(path.dirname(job.report), 'failure.png');
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      report.failureScreenshot = file;
      report.failureText = (await page.locator('body').innerText().catch(() => '')).slice(0, 3000);
    }
  } finally {
    await browser.close();
  }
  fs.writeFileSync(job.report, JSON.stringify(report, null, 2));
})();
