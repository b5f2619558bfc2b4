#!/bin/sh
# Runs a command on the Node LTS the image ships (Dockerfile: node:24-slim): on the
# machine's node when its major is that one, else on the npm registry's `node` package of
# that major, installed once into ~/.cache/hookline/node-<major>. npm, jest, the bench and
# every process they spawn take the first node on PATH.
#   sh scripts/lts-node.sh npm test
#   sh scripts/lts-node.sh node -v
set -eu
NODE_LTS=24
if [ "$(node -p 'process.versions.node.split(".")[0]')" != "$NODE_LTS" ]; then
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/hookline/node-$NODE_LTS"
  if [ ! -x "$dir/node_modules/.bin/node" ]; then
    npm install --prefix "$dir" --no-save --no-audit --no-fund "node@$NODE_LTS" >/dev/null
  fi
  PATH="$dir/node_modules/.bin:$PATH"
  export PATH
fi
exec "$@"
