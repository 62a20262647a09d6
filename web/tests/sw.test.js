// sw.test.js: the service worker keeps every file the till needs to start offline,
// and only those: never the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const webDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function loadWorker() {
  const module = { exports: {} };
  vm.runInNewContext(readFileSync(join(webDir, 'sw.js'), 'utf8'), { module, URL });
  return module.exports;
}

function filesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

test('the shell list names every script and style of the till, and the page', () => {
  const { SHELL_FILES } = loadWorker();
  const onDisk = ['js', 'css']
    .flatMap((d) => filesUnder(join(webDir, d)))
    .filter((p) => p.endsWith('.js') || p.endsWith('.css'))
    .map((p) => `/${relative(webDir, p).split('\\').join('/')}`);
  assert.deepEqual([...SHELL_FILES].sort(), ['/', ...onDisk].sort());
});

test('navigations map to the page; files to their path; the API is left alone', () => {
  const { shellKey } = loadWorker();
  const origin = 'http://127.0.0.1:8080';
  const req = (url, mode = 'cors', method = 'GET') => ({ url, mode, method });
  assert.equal(shellKey(req(`${origin}/?t=2`, 'navigate'), origin), '/');
  assert.equal(shellKey(req(`${origin}/#/pos`, 'navigate'), origin), '/');
  assert.equal(shellKey(req(`${origin}/index.html`), origin), '/');
  assert.equal(shellKey(req(`${origin}/js/app.js?v=3`), origin), '/js/app.js');
  assert.equal(shellKey(req(`${origin}/api/v1/products`), origin), undefined);
  assert.equal(shellKey(req(`${origin}/api/v1/sync?token=x`), origin), undefined);
  assert.equal(shellKey(req(`${origin}/api`), origin), undefined);
  assert.equal(shellKey(req(`${origin}/js/app.js`, 'cors', 'POST'), origin), undefined);
  assert.equal(shellKey(req('http://elsewhere.example/js/app.js'), origin), undefined);
});
