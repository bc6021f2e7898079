// Copy the prebuilt @openeo/vue-components bundle (entry + lazily loaded chunks) into the built
// labextension, so the server extension serves it and the openeo client's notebook views render
// offline. Run after `jupyter-builder build` (see package.json "build:labextension*").
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const pkgDir = path.dirname(require.resolve('@openeo/vue-components/package.json', { paths: [root] }));
const source = path.join(pkgDir, 'assets');
const target = path.join(root, 'jupyter_eo', 'labextension', 'static', 'openeo-vue-components');

fs.rmSync(target, { recursive: true, force: true });
fs.mkdirSync(target, { recursive: true });
const files = fs.readdirSync(source).filter(name => name.endsWith('.min.js'));
if (!files.includes('openeo.min.js')) {
  throw new Error(`openeo.min.js not found in ${source}`);
}
for (const name of files) {
  fs.copyFileSync(path.join(source, name), path.join(target, name));
}
fs.copyFileSync(path.join(pkgDir, 'LICENSE'), path.join(target, 'LICENSE'));
const version = require(path.join(pkgDir, 'package.json')).version;
fs.writeFileSync(path.join(target, 'VERSION'), `${version}\n`);
console.log(`copied @openeo/vue-components ${version} (${files.length} files) to ${path.relative(root, target)}`);
