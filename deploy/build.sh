#!/bin/sh
# Release build: static (CGO_ENABLED=0), without local paths (-trimpath),
# stamped with version, commit and date, for every platform in PLATFORMS.
#
#   deploy/build.sh                                  # dist/idbolt-VERSION-linux-{amd64,arm64}
#   VERSION=1.2.3 OUT=/tmp/rel PLATFORMS=linux/arm64 deploy/build.sh
#
# The date defaults to the commit's, so that the same commit builds the same
# bytes with the same Go toolchain.
set -eu
cd "$(dirname "$0")/.."
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
BUILD_DATE=${BUILD_DATE:-$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)}
OUT=${OUT:-dist}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64}
mkdir -p "$OUT"
for platform in $PLATFORMS; do
	os=${platform%/*}
	arch=${platform#*/}
	bin="$OUT/idbolt-$VERSION-$os-$arch"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
		-ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.buildDate=$BUILD_DATE" \
		-o "$bin" .
	echo "$bin"
done
cd "$OUT" && sha256sum idbolt-* >SHA256SUMS
