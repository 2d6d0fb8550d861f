#!/usr/bin/env bash
# fetch-cifar10.sh [DIR] - download the official CIFAR-10 binary archive
# (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, 162 MiB), verify its MD5
# checksum (the one published on the CIFAR-10 page), and unpack data_batch_1..5.bin and
# test_batch.bin into DIR (default data/cifar10). Then:
#   convkit train --model seed-cnn --dataset cifar10 --data-dir DIR
# Without network access it says so and exits 1; nothing partial is left in DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-data/cifar10}
url=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
md5=c32a1d4ab5d03f1284b67883e8d87530
files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)

have=1
for f in "${files[@]}"; do [ -s "$dir/$f" ] || have=0; done
if [ $have = 1 ]; then
  echo "fetch-cifar10: $dir already holds the six CIFAR-10 batch files"
  exit 0
fi

mkdir -p "$dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cifar10.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch-cifar10: downloading $url"
if command -v curl >/dev/null; then
  fetch=(curl -fL --retry 2 --connect-timeout 20 -o "$tmp/c.tgz" "$url")
else
  fetch=(wget -q --tries=2 --timeout=20 -O "$tmp/c.tgz" "$url")
fi
if ! "${fetch[@]}"; then
  echo "fetch-cifar10: cannot download $url (no network access?)." >&2
  echo "fetch-cifar10: copy cifar-10-binary.tar.gz here by hand and run: tar xzf cifar-10-binary.tar.gz" >&2
  exit 1
fi
got=$(md5sum "$tmp/c.tgz" | cut -d' ' -f1)
if [ "$got" != "$md5" ]; then
  echo "fetch-cifar10: checksum mismatch: got MD5 $got, expected $md5 (corrupt download?)" >&2
  exit 1
fi
tar -xzf "$tmp/c.tgz" -C "$tmp"
for f in "${files[@]}"; do
  size=$(stat -c %s "$tmp/cifar-10-batches-bin/$f")
  [ "$size" = 30730000 ] || { echo "fetch-cifar10: $f is $size bytes, expected 30730000" >&2; exit 1; }
done
for f in "${files[@]}"; do mv "$tmp/cifar-10-batches-bin/$f" "$dir/$f"; done
cp "$tmp/cifar-10-batches-bin/batches.meta.txt" "$dir/" 2>/dev/null || true
echo "fetch-cifar10: CIFAR-10 is in $dir (50000 training, 10000 test images)"
