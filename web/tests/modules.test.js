// modules.test.js: with no build step, a mistyped import path or a missing named
// export only shows in the browser. Importing every module here links the whole
// graph (ES module linking fails on a missing file or export) without running any
// screen. app.js starts the app when imported, so its imports are linked one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const jsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'js');

function modulesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modulesUnder(path);
    return path.endsWith('.js') ? [path] : [];
  });
}

const ENTRY = join(jsDir, 'app.js');

test('every module of the app links: its imports exist and export what is imported', async () => {
  const modules = modulesUnder(jsDir).filter((path) => path !== ENTRY);
  assert.ok(modules.length > 20, `only ${modules.length} modules found`);
  for (const path of modules) {
    await assert.doesNotReject(import(pathToFileURL(path).href), `js/${relative(jsDir, path)}`);
  }
});

test('the entry point imports only modules that link, with the names it uses', async () => {
  const source = readFileSync(ENTRY, 'utf8');
  const imports = [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'([^']+)'/g)];
  assert.ok(imports.length >= 5, 'app.js imports found');
  for (const [, names, from] of imports) {
    const module = await import(new URL(from, pathToFileURL(ENTRY)).href);
    for (const name of names.split(',').map((n) => n.trim().split(/\s+as\s+/)[0]).filter(Boolean)) {
      assert.ok(name in module, `app.js imports ${name} from ${from}, which does not export it`);
    }
  }
});
