#!/bin/sh
# Copy the UI's npm libraries into the package's static folder (git-ignored). Run after `npm install`.
set -eu
cd "$(dirname "$0")/.."
dest=src/filiere/web/static/vendor
mkdir -p "$dest"
cp node_modules/cytoscape/dist/cytoscape.min.js "$dest/cytoscape.min.js"
echo "copied cytoscape $(node -p "require('./node_modules/cytoscape/package.json').version" 2>/dev/null || echo '') to $dest"
