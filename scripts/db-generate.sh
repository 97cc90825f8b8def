#!/bin/sh
# Generates a drizzle-kit migration from db/src/schema.ts into db/migrations (commit the SQL).
# drizzle-orm is installed under db/node_modules (not hoisted), and drizzle-kit imports it by name,
# so drizzle-kit is run from db/node_modules through a symlink with symlinks preserved.
set -e
cd "$(dirname "$0")/../db"
[ -e node_modules/drizzle-kit ] || ln -s ../../node_modules/drizzle-kit node_modules/drizzle-kit
exec node --preserve-symlinks --preserve-symlinks-main node_modules/drizzle-kit/bin.cjs generate "$@"
