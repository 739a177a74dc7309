// Bundles app.jsx with esbuild into build/ (not committed): build/app.js, build/app.css, build/page.html.
//   node build.js
'use strict';
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const out = path.join(__dirname, 'build');

async function main() {
  fs.mkdirSync(out, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'app.jsx')],
    bundle: true,
    outfile: path.join(out, 'app.js'),
    format: 'iife',
    platform: 'browser',
    target: ['chrome120'],
    jsx: 'automatic',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    loader: {
      '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.eot': 'dataurl',
      '.png': 'dataurl', '.jpg': 'dataurl', '.gif': 'dataurl', '.svg': 'dataurl',
    },
  });
  const css = fs.existsSync(path.join(out, 'app.css')) ? '<link rel="stylesheet" href="app.css">' : '';
  fs.writeFileSync(path.join(out, 'page.html'),
    `<!doctype html><html><head><meta charset="utf-8">${css}` +
    '<style>html,body{margin:0;padding:0}</style></head><body><script src="app.js"></script></body></html>\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
