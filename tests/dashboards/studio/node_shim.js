// Browser globals for loading Splunk's dashboard preset modules under Node: they touch window,
// document, matchMedia and friends when they are required (they are written for a browser).
'use strict';
const { JSDOM } = require('jsdom');

const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', {
  url: 'http://localhost/',
  pretendToBeVisual: true,
});
const view = dom.window;
// Node's own classes would not be accepted by jsdom's DOM methods.
const PREFER_JSDOM = new Set(['Event', 'CustomEvent', 'EventTarget', 'MessageEvent']);
const names = new Set();
for (let proto = view; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
  Object.getOwnPropertyNames(proto).forEach((name) => names.add(name));
}
for (const name of names) {
  if (name in globalThis && !PREFER_JSDOM.has(name)) continue;
  let value;
  try {
    value = view[name];
  } catch (error) {
    continue;
  }
  // Window methods (addEventListener, getComputedStyle...) must run with the jsdom window as `this`.
  const bound = typeof value === 'function' && /^[a-z]/.test(name) ? value.bind(view) : value;
  Object.defineProperty(globalThis, name, { value: bound, configurable: true, writable: true });
}
// Bundles set globals with `this.x = ...` (ace) and read them back as window.x.
Object.defineProperty(globalThis, 'window', { value: globalThis, configurable: true, writable: true });
Object.defineProperty(globalThis, 'navigator', { value: view.navigator, configurable: true, writable: true });
// Not in jsdom.
globalThis.matchMedia = (media) => ({
  matches: false, media, onchange: null,
  addListener() {}, removeListener() {}, addEventListener() {}, removeEventListener() {},
  dispatchEvent() { return false; },
});
if (!globalThis.ResizeObserver) {
  globalThis.ResizeObserver = class { observe() {} unobserve() {} disconnect() {} };
}
// Components import their style sheets; Node has no loader for them.
require.extensions['.css'] = (module) => { module.exports = {}; };
