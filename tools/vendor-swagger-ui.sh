#!/usr/bin/env bash
# Vendors Swagger UI, the renderer of /docs, into api/docsui, where go:embed puts it in the
# binary (no CDN: /docs works offline). Source: the npm registry's swagger-ui-dist package, the
# version below, checked against the registry's published integrity hash. Run it to upgrade:
# change VERSION and INTEGRITY (npm view swagger-ui-dist@VERSION dist.integrity), run, commit.
set -euo pipefail
VERSION=5.35.0
INTEGRITY=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
cd "$(dirname "$0")/.."
dest=api/docsui
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
tarball="$work/swagger-ui-dist-$VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$got" != "$INTEGRITY" ]; then
  echo "swagger-ui-dist@$VERSION: integrity $got, want $INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt; do
  cp "$work/package/$f" "$dest/$f"
done
cat > "$dest/VERSION" <<VERSION_EOF
swagger-ui-dist $VERSION from the npm registry ($INTEGRITY),
vendored by tools/vendor-swagger-ui.sh; index.html and init.js are this project's own.
VERSION_EOF
echo "vendored swagger-ui-dist $VERSION into $dest"
