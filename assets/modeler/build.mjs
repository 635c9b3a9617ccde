// Build the modeler bundle into som_flow/web/static/vendor/som-modeler/: one minified script, one stylesheet
// (the bpmn font beside it as files: the page's CSP allows fonts from our own origin only), and the licences
// of every package the bundle contains.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const out = '../../som_flow/web/static/vendor/som-modeler';
mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, legalComments: 'none', metafile: true, logLevel: 'info' };
const js = await esbuild.build({ ...common, entryPoints: ['src/index.js'], outfile: `${out}/som-modeler.min.js`,
  format: 'iife', target: 'es2019' });
const css = await esbuild.build({ ...common, entryPoints: ['src/index.css'], outfile: `${out}/som-modeler.min.css`,
  loader: { '.eot': 'file', '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.svg': 'file' },
  assetNames: '[name]' });

// one file with the licence of each package inside the bundle
const packages = new Set();
for (const input of [...Object.keys(js.metafile.inputs), ...Object.keys(css.metafile.inputs)]) {
  const match = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
  if (match) { packages.add(match[1]); }
}
const texts = [...packages].sort().map((dir) => {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license'].map((f) => join(dir, f)).find(existsSync);
  return `${pkg.name} ${pkg.version} (${pkg.license})\n\n${file ? readFileSync(file, 'utf8').trim() : pkg.license}\n`;
});
writeFileSync(`${out}/THIRD_PARTY_LICENSES.txt`, texts.join('\n' + '-'.repeat(78) + '\n\n'));
writeFileSync(`${out}/VERSION`, JSON.parse(readFileSync('package.json', 'utf8')).dependencies['bpmn-js'] + '\n');
console.log(`licences of ${packages.size} packages`, dirname(out));
