#!/bin/sh
# "Compile" hello.sh into $1: burn CPU as a compiler would (the number of
# rounds is in ./rounds), then write the program and a data file it ships with.
set -eu
out=$1 rounds=$(cat rounds)
mkdir -p "$out"
i=0 sum=0
while [ "$i" -lt "$rounds" ]; do i=$((i + 1)); sum=$(((sum + i * 7) % 1000003)); done
{ echo '#!/bin/sh'; echo "BUILD_SUM=$sum"; cat hello.sh; } > "$out/hello"
chmod 755 "$out/hello"
dd if=/dev/urandom of="$out/assets.bin" bs=1M count=8 2>/dev/null
echo "compiled $out/hello (checksum $sum)"
