#!/usr/bin/env bash
# Runs headroomd's audio-path tests (daemon/tests/audio_path.rs, after the
# harness's own, daemon/tests/pw_harness.rs) against
# PipeWire 1.x and WirePlumber 0.5 from Debian bookworm-backports, without
# installing them: the packages are fetched with apt-get into a private apt
# state (the system's sources and dpkg database are not touched), unpacked
# with `dpkg -x` into a prefix, and the test harness runs that build through
# HEADROOM_PW_PREFIX (session/src/prefix.rs). The system's PipeWire stays as
# it is; the daemon under test is the same binary, linked at run time
# against the prefix's libpipewire.
#
# Usage:   scripts/pw1x.sh [TEST_NAME_FILTER] [-- cargo test harness args]
# Example: scripts/pw1x.sh graph_rate -- --nocapture
# Env:     HEADROOM_PW1X_DIR    work directory (default: target/pw1x)
#          HEADROOM_PW1X_SUITE  Debian suite to take them from (default: bookworm-backports)
# Needs:   apt-get and dpkg (Debian 12 or derivative), network access to the
#          Debian archive, and what the ordinary tests need (README).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${HEADROOM_PW1X_DIR:-$PWD/target/pw1x}
suite=${HEADROOM_PW1X_SUITE:-bookworm-backports}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# The packages that make up a PipeWire + WirePlumber session and its tools.
packages=(pipewire pipewire-bin libpipewire-0.3-0 libpipewire-0.3-modules
  libpipewire-0.3-common libspa-0.2-modules wireplumber libwireplumber-0.5-0)
# What those need that a Debian 12 machine with the 0.3 stack may lack; taken
# from the base suite, so they never replace anything installed.
extra=(liblua5.4-0)

for tool in apt-get dpkg; do
  command -v "$tool" >/dev/null || { echo "pw1x: needs $tool (Debian or a derivative)" >&2; exit 2; }
done
[ -r "$keyring" ] || { echo "pw1x: no $keyring (package debian-archive-keyring)" >&2; exit 2; }

t0=$(date +%s)
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/apt/parts" "$dir/debs"
cat >"$dir/apt/sources.list" <<EOF
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb [signed-by=$keyring] http://deb.debian.org/debian $suite main
EOF
apt_opts=(
  -o "Dir::Etc::SourceList=$dir/apt/sources.list"
  -o "Dir::Etc::SourceParts=$dir/apt/parts"
  -o "Dir::State::Lists=$dir/apt/lists"
  -o "Dir::Cache=$dir/apt/cache"
  -o "APT::Sandbox::User=root"
  -q
)
echo "pw1x: package lists ($suite)"
apt-get "${apt_opts[@]}" update >/dev/null

echo "pw1x: downloading ${packages[*]} from $suite"
rm -f "$dir"/debs/*.deb
(cd "$dir/debs" &&
  apt-get "${apt_opts[@]}" download "${packages[@]/%//$suite}" "${extra[@]}" >/dev/null)

prefix="$dir/prefix"
rm -rf "$prefix"
mkdir -p "$prefix"
for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$prefix"; done

# Every shared library the programs need must resolve (prefix first).
libdir=$(dirname "$(find "$prefix/usr/lib" -name 'libpipewire-0.3.so.0' | head -n 1)")
missing=$(for bin in pipewire wireplumber pw-cat pw-cli; do
  LD_LIBRARY_PATH="$libdir" ldd "$prefix/usr/bin/$bin" | grep 'not found' || true
done | sort -u)
if [ -n "$missing" ]; then
  echo "pw1x: libraries missing for the $suite programs:" >&2
  echo "$missing" >&2
  exit 2
fi
versions=$(for bin in pipewire wireplumber; do
  LD_LIBRARY_PATH="$libdir" "$prefix/usr/bin/$bin" --version | sed -n 's/^Linked with //p'
done | paste -sd, -)
echo "pw1x: $versions in $prefix ($(($(date +%s) - t0)) s)"

filter=()
if [ $# -gt 0 ] && [ "$1" != "--" ]; then filter=("$1"); shift; fi
[ "${1:-}" = "--" ] && shift
HEADROOM_PW_PREFIX="$prefix" cargo test -p headroomd --test pw_harness --test audio_path \
  "${filter[@]}" -- "$@"
echo "pw1x: done in $(($(date +%s) - t0)) s"
