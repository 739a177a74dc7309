// Draws dashboards in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core;
// no browser is downloaded) and reports what a person would see.
//
//   node render.js job.json results.json
// job.json: {"dashboards": [{"name", "definition", "colorScheme", "screenshot": "<png path>"|null}],
//            "timeoutMs": <per dashboard>, "budgetMs": <whole run>, "chromium": "/usr/bin/chromium"}
// results.json: {"<name>": {"expectedViz": [...], "renderedViz": [...], "validationErrors": [...],
//   "consoleErrors": [...], "allowedConsoleErrors": n, "tables": {"<viz id>": ["<header>"...]},
//   "brokenHeaders": {"<viz id>": ["<header with a word broken over two lines>"...]},
//   "cutRows": {"<viz id>": <rows the panel cuts off at its bottom>},
//   "validatorAnswered": bool, "fatal": null|"...", "ms": n}}
//
// The page is served from an origin that does not exist (every request is answered here):
// the bundle from build/, and a stand-in splunkd for the two REST calls the time picker makes
// (current user's capabilities, time range presets). Map tiles are drawn here from Natural
// Earth's countries (npm world-atlas) in place of the tile server's, so the map shows land
// and sea. Everything else goes to the network, which Chromium is told not to reach.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const topojson = require('topojson-client');

const ORIGIN = 'http://dashboards.invalid';
const BUILD = path.join(__dirname, 'build');
const OFFLINE_ARGS = [
  '--host-resolver-rules=MAP * ~NOTFOUND',
  '--proxy-server=http://127.0.0.1:9',
  '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--hide-scrollbars', '--font-render-hinting=none',
];
// splunkd's default time range presets (etc/system/default/times.conf), the ones the picker lists.
const TIME_PRESETS = [
  ['Last 15 minutes', '-15m', 'now', 10], ['Last 60 minutes', '-60m@m', 'now', 20],
  ['Last 4 hours', '-4h@m', 'now', 30], ['Last 24 hours', '-24h@h', 'now', 40],
  ['Last 7 days', '-7d@h', 'now', 50], ['Last 30 days', '-30d@d', 'now', 60],
  ['Last 90 days', '-90d@d', 'now', 65], ['Today', '@d', 'now', 70],
  ['Week to date', '@w0', 'now', 80], ['Year to date', '@y', 'now', 90], ['Yesterday', '-1d@d', '@d', 100],
  ['All time', '', '', 1000],
];
const MAP_TILE = /\/\d+\/\d+\/\d+(@2x)?\.(png|jpg|jpeg|pbf|webp)(\?|$)/;

function splunkdAnswer(url) {
  if (/\/services\/authentication\/current-context/.test(url.pathname)) {
    return { entry: [{ name: 'admin', content: { username: 'admin', capabilities: ['search', 'rtsearch'] } }] };
  }
  if (/\/data\/ui\/times$/.test(url.pathname)) {
    return {
      entry: TIME_PRESETS.map(([label, earliest, latest, order]) => ({
        name: label, content: { label, earliest_time: earliest, latest_time: latest, order: String(order), disabled: false },
      })),
    };
  }
  return null;
}

async function route(request) {
  const url = new URL(request.url());
  if (url.pathname.startsWith('/services/') || url.pathname.startsWith('/servicesNS/')
      || url.pathname.includes('/splunkd/__raw/')) {
    const answer = splunkdAnswer(url);
    return answer
      ? { status: 200, contentType: 'application/json', body: JSON.stringify(answer) }
      : { status: 404, contentType: 'application/json', body: '{"messages":[{"type":"ERROR","text":"Not Found"}]}' };
  }
  const file = path.join(BUILD, path.normalize(url.pathname).replace(/^\/+/, ''));
  if (!file.startsWith(BUILD + path.sep) || !fs.existsSync(file)) return { status: 404, body: 'not found' };
  const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }[path.extname(file)] || 'application/octet-stream';
  // Cacheable, so every dashboard after the first loads the bundle from Chromium's cache.
  return { status: 200, contentType: type, headers: { 'Cache-Control': 'max-age=3600' }, body: fs.readFileSync(file) };
}

function expectedVisualizations(definition) {
  const layout = definition.layout || {};
  const structures = layout.layoutDefinitions
    ? Object.values(layout.layoutDefinitions).map((item) => item.structure || [])
    : [layout.structure || []];
  return structures.flat().filter((block) => block.type !== 'input').map((block) => block.item);
}

// A page of our own that draws 256 px Web Mercator tiles (land, sea, borders) on a canvas.
async function tileDrawer(browser) {
  const atlas = JSON.parse(fs.readFileSync(require.resolve('world-atlas/countries-110m.json'), 'utf8'));
  const countries = topojson.feature(atlas, atlas.objects.countries).features.map((feature) => feature.geometry);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.setContent('<!doctype html><title>tiles</title>');
  await page.evaluate((geometries) => {
    window.drawTile = async (z, x, y, size) => {
      const canvas = new OffscreenCanvas(size, size);
      const ctx = canvas.getContext('2d');
      const world = size * 2 ** z;
      const project = ([lon, lat]) => {
        const phi = (Math.max(-85.05, Math.min(85.05, lat)) * Math.PI) / 180;
        return [((lon + 180) / 360) * world - x * size,
          ((1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2) * world - y * size];
      };
      ctx.fillStyle = '#d4e6ee';
      ctx.fillRect(0, 0, size, size);
      ctx.fillStyle = '#f5f3ee';
      ctx.strokeStyle = '#c8c2b8';
      ctx.lineWidth = 0.6;
      for (const geometry of geometries) {
        if (!geometry) continue;
        const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
        ctx.beginPath();
        for (const polygon of polygons) {
          for (const ring of polygon) {
            ring.forEach((point, i) => {
              const [px, py] = project(point);
              if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
            });
            ctx.closePath();
          }
        }
        ctx.fill('evenodd');
        ctx.stroke();
      }
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(binary);
    };
  }, countries);
  return {
    async tile(url) {
      const match = url.match(/\/(\d+)\/(\d+)\/(\d+)(@2x)?\.\w+(\?|$)/);
      const [z, x, y] = [1, 2, 3].map((i) => Number(match[i]));
      const base64 = await page.evaluate(([a, b, c, size]) => window.drawTile(a, b, c, size), [z, x, y, match[4] ? 512 : 256]);
      return Buffer.from(base64, 'base64');
    },
    close: () => context.close(),
  };
}

// One browser context for all dashboards: each request to our origin is answered here.
async function newContext(browser, tiles) {
  const context = await browser.newContext({ viewport: { width: 1480, height: 1000 }, deviceScaleFactor: 1 });
  await context.route('**/*', async (request) => {
    const url = request.request().url();
    if (!url.startsWith(ORIGIN) && MAP_TILE.test(url)) {
      return request.fulfill({ status: 200, contentType: 'image/png', body: await tiles.tile(url) });
    }
    if (!url.startsWith(ORIGIN)) return request.continue();
    return request.fulfill(await route(request.request()));
  });
  return context;
}

// One page draws the dashboards one after the other: loading the 14 MB bundle takes seconds, so
// it is loaded once and each dashboard is mounted in a fresh React root (fresh DashboardCore
// state). After a page failure the next dashboard gets a new page.
class Stage {
  constructor(context, timeoutMs) {
    this.context = context;
    this.timeoutMs = timeoutMs;
    this.page = null;
    this.consoleErrors = [];
    this.failedRequests = new Set();
  }

  async open() {
    const page = await this.context.newPage();
    page.setDefaultTimeout(this.timeoutMs);
    page.on('requestfailed', (request) => this.failedRequests.add(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') {
        this.consoleErrors.push({ text: message.text(), url: (message.location() || {}).url || '' });
      }
    });
    page.on('pageerror', (error) => this.consoleErrors.push({ text: `uncaught: ${error && error.stack ? error.stack : error}`, url: '' }));
    await page.addInitScript(() => {
      // What Splunk Web puts on its pages; the time picker reads splunkd's path from it.
      window.$C = {
        SPLUNKD_PATH: '/en-US/splunkd/__raw', LOCALE: 'en-US', APP: 'TA-1password-events', USERNAME: 'admin',
        MRSPARKLE_ROOT_PATH: '', MRSPARKLE_PORT_NUMBER: '8000', SERVER_ZONEINFO: '', VERSION_LABEL: '10.0.0',
      };
    });
    await page.goto(`${ORIGIN}/page.html`, { waitUntil: 'load', timeout: this.timeoutMs });
    await page.waitForFunction(() => typeof window.__studioRender === 'function', null, { timeout: this.timeoutMs });
    this.page = page;
  }

  async discard() {
    if (this.page) await this.page.close().catch(() => {});
    this.page = null;
  }
}

async function renderOne(stage, job, timeoutMs) {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const result = {
    expectedViz: expectedVisualizations(job.definition), renderedViz: [], validationErrors: [], validatorAnswered: false,
    consoleErrors: [], allowedConsoleErrors: 0, tables: {}, fatal: null, ms: 0,
  };
  try {
    if (!stage.page) await stage.open();
    const { page } = stage;
    stage.consoleErrors = [];
    stage.failedRequests = new Set();
    await page.evaluate((input) => {
      // DashboardCore keeps input values in the URL (form.<token>) and reads them when it mounts:
      // each dashboard starts from a clean address, as when opened from the app's menu.
      window.history.replaceState(null, '', '/page.html');
      window.localStorage.clear();
      window.sessionStorage.clear();
      window.scrollTo(0, 0);
      window.__studioRender(input);
    },
      { definition: job.definition, colorScheme: job.colorScheme || 'light' });
    // Every visualization of the layout is on the page, no data source is still loading, and
    // DashboardCore's validator has answered.
    await page.waitForFunction((count) => {
      const state = window.__STUDIO_RESULT__ || {};
      const items = document.querySelectorAll('[data-test="viz-item"]');
      const waiting = document.querySelectorAll('[data-test="wait-spinner"], [data-test="loading"]');
      return (items.length >= count && waiting.length === 0 && state.validatorAnswered) || state.fatal;
    }, result.expectedViz.length, { timeout: Math.max(1000, deadline - Date.now()), polling: 100 }).catch(() => {});
    // Charts animate in: let them settle before a screenshot (the checks read the DOM only).
    await page.waitForTimeout(Math.min(job.screenshot ? 1500 : 200, Math.max(0, deadline - Date.now())));
    const seen = await page.evaluate(() => {
      const tables = {};
      document.querySelectorAll('[data-test="viz-item"][data-viz-type="splunk.table"]').forEach((item) => {
        tables[item.getAttribute('data-id')] = [...item.querySelectorAll('th[data-test="head-cell"]')]
          .map((cell) => cell.getAttribute('data-test-label'));
      });
      // A header word broken over two lines ("source_ip" / "s"), and a row the panel cuts off at its bottom.
      const brokenHeaders = {};
      const cutRows = {};
      const lineCount = (node, start, end) => {
        const range = document.createRange();
        range.setStart(node, start);
        range.setEnd(node, end);
        return new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
      };
      document.querySelectorAll('[data-test="viz-item"][data-viz-type="splunk.table"]').forEach((item) => {
        const id = item.getAttribute('data-id');
        item.querySelectorAll('th[data-test="head-cell"]').forEach((cell) => {
          const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const word of node.textContent.matchAll(/\S+/g)) {
              if (lineCount(node, word.index, word.index + word[0].length) > 1) {
                (brokenHeaders[id] = brokenHeaders[id] || []).push(cell.getAttribute('data-test-label'));
              }
            }
          }
        });
        // A row is cut where the panel ends or where a box between it and the panel clips it
        // (the table's own scrolling body hides a row's last lines above the paging buttons).
        const visibleBottom = (row) => {
          let bottom = item.getBoundingClientRect().bottom;
          for (let box = row.parentElement; box && box !== item; box = box.parentElement) {
            if (getComputedStyle(box).overflowY !== 'visible') bottom = Math.min(bottom, box.getBoundingClientRect().bottom);
          }
          return bottom;
        };
        item.querySelectorAll('tbody tr').forEach((row) => {
          if (row.getBoundingClientRect().bottom > visibleBottom(row) + 1) cutRows[id] = (cutRows[id] || 0) + 1;
        });
      });
      const state = window.__STUDIO_RESULT__ || {};
      return {
        rendered: [...document.querySelectorAll('[data-test="viz-item"]')].map((item) => item.getAttribute('data-id')),
        tables, brokenHeaders, cutRows, validationErrors: state.validationErrors || [], fatal: state.fatal || null,
        validatorAnswered: Boolean(state.validatorAnswered),
      };
    });
    Object.assign(result, {
      renderedViz: seen.rendered, tables: seen.tables, brokenHeaders: seen.brokenHeaders, cutRows: seen.cutRows,
      validationErrors: seen.validationErrors,
      fatal: seen.fatal, validatorAnswered: seen.validatorAnswered,
    });
    if (job.screenshot) {
      fs.mkdirSync(path.dirname(job.screenshot), { recursive: true });
      await page.screenshot({ path: job.screenshot, fullPage: true, animations: 'disabled', timeout: Math.max(5000, deadline - Date.now()) });
    }
  } catch (error) {
    result.fatal = result.fatal || String(error && error.stack ? error.stack : error);
  }
  for (const error of stage.consoleErrors) {
    const urls = [error.url, ...(error.text.match(/https?:\/\/\S+/g) || [])].filter(Boolean);
    const blockedByDesign = urls.some((url) => MAP_TILE.test(url) && (stage.failedRequests.has(url) || !url.startsWith(ORIGIN)));
    if (blockedByDesign) result.allowedConsoleErrors += 1;
    else result.consoleErrors.push(error.text.slice(0, 2000));
  }
  if (result.fatal) await stage.discard();
  result.ms = Date.now() - started;
  return result;
}

async function main([jobPath, outPath]) {
  const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
  const timeoutMs = job.timeoutMs || 60000;
  const results = {};
  // Whatever hangs, stop in time: exiting makes Playwright close Chromium.
  setTimeout(() => {
    console.error(`render.js: out of time after ${job.budgetMs} ms`);
    process.exit(3);
  }, job.budgetMs || timeoutMs * (job.dashboards.length + 1)).unref();
  const browser = await chromium.launch({
    executablePath: job.chromium || '/usr/bin/chromium', headless: true, args: OFFLINE_ARGS, timeout: timeoutMs,
  });
  try {
    const tiles = await tileDrawer(browser);
    const stage = new Stage(await newContext(browser, tiles), timeoutMs);
    for (const dashboard of job.dashboards) {
      results[dashboard.name] = await renderOne(stage, dashboard, timeoutMs);
      fs.writeFileSync(outPath, JSON.stringify(results, null, 2));
    }
  } finally {
    await browser.close().catch(() => {});
  }
  fs.writeFileSync(outPath, JSON.stringify(results, null, 2));
}

main(process.argv.slice(2)).then(() => process.exit(0), (error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
