#!/usr/bin/env bash
# Downloads the GraphiQL page's third-party files from the npm registry into this folder, exactly
# as published (not edited), and checks each against the SHA-256 written in VERSIONS.
#
#   crates/api/assets/graphiql/fetch.sh           fetch the versions VERSIONS names, check the sums
#                                                 (the server's unit tests check the files here
#                                                 against the same sums, without a network)
#   crates/api/assets/graphiql/fetch.sh --update  fetch them and write the sums they have now
#
# To move to another version, change it in VERSIONS, run with --update, and read the diff: the
# server embeds these files as they are, so what lands here is what browsers run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
update=false
[ "${1:-}" = "--update" ] && update=true

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# VERSIONS: one line per file, "<file> <package>@<version> <path in the package> <sha256>".
new_versions="$work/VERSIONS"
grep '^#' "$here/VERSIONS" > "$new_versions" || true
status=0
while read -r file spec inner sum; do
  case "$file" in ''|'#'*) continue ;; esac
  package="${spec%@*}"
  if [ ! -d "$work/$spec" ]; then
    mkdir -p "$work/$spec"
    (cd "$work" && npm pack --silent "$spec" >/dev/null)
    tar -xzf "$work/$package-${spec##*@}.tgz" -C "$work/$spec"
  fi
  fetched="$work/$spec/package/$inner"
  actual=$(sha256sum "$fetched" | cut -d' ' -f1)
  if $update; then
    sum="$actual"
  fi
  # A file whose sum differs is reported and left as it was.
  if [ "$actual" = "$sum" ]; then
    cp "$fetched" "$here/$file"
  else
    echo "$file: the registry's has SHA-256 $actual, VERSIONS says $sum" >&2
    status=1
  fi
  printf '%s %s %s %s\n' "$file" "$spec" "$inner" "$sum" >> "$new_versions"
done < <(grep -v '^#' "$here/VERSIONS")

if $update; then
  cp "$new_versions" "$here/VERSIONS"
  echo "VERSIONS updated; review the changes before committing them"
elif [ "$status" = 0 ]; then
  echo "every file matches VERSIONS"
fi
exit "$status"
