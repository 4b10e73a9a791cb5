#!/usr/bin/env bash
# CI's fresh-root stage: proves README's Quick start on a Debian bookworm root with nothing
# installed. It makes a minimal root (debootstrap --variant=minbase, from the archive this
# machine's apt uses), copies a clean clone of this repository's HEAD into it and runs there,
# under chroot, the two Quick start commands (the bench with a short --min-time, the tests with
# EDGEATTN_TEST_SCOPE=quick and EDGEATTN_SKIP_CROSS=1), then resolves the cross packages with
# `tools/scripts/install-cross-deps.sh --dry-run`. So tools/scripts/install-deps.sh installs every package from
# nothing on every CI run.
#
# Only the pristine bootstrap is reused between runs: a tarball in $EDGEATTN_CACHE_DIR (default
# /var/cache/edgeattn), written before anything is installed into the root. The root itself is
# made anew from it and removed at the end. Needs root (debootstrap, mount, chroot).
# EDGEATTN_SKIP_FRESH_ROOT=1 skips the stage (it is set inside the root, so it never recurses).
set -euo pipefail
if [ "${EDGEATTN_SKIP_FRESH_ROOT:-0}" = 1 ]; then
  echo "fresh-root: skipped (EDGEATTN_SKIP_FRESH_ROOT=1)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-root: needs root (debootstrap, mount, chroot)" >&2
  exit 1
fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
suite=bookworm
arch=$(dpkg --print-architecture)
cache=${EDGEATTN_CACHE_DIR:-/var/cache/edgeattn}
tarball=$cache/debootstrap-$suite-minbase-$arch.tar
"$repo/tools/scripts/install-deps.sh" debootstrap git >/dev/null

# The archives this machine's apt uses for the suite, its updates and security: "URI SUITE".
archives=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' |
           awk -v s="$suite" '$2 == s || $2 == s "-updates" || $2 == s "-security"' | sort -u)
mirror=$(awk -v s="$suite" '$2 == s { print $1; exit }' <<<"$archives")
if [ -z "$mirror" ]; then
  echo "fresh-root: this machine's apt has no $suite archive (apt-get indextargets)" >&2
  exit 1
fi

mkdir -p "$cache"
root=$(mktemp -d /var/tmp/edgeattn-fresh-root.XXXXXX)
mounts=()
# Removes the root, never through a mount that is still there (the host's /dev and /sys).
remove_root() {
  local left
  left=$(findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1')
  if [ -n "$left" ]; then
    echo "fresh-root: mounts remain under $root, not removing it: $left" >&2
    return 1
  fi
  rm -rf --one-file-system "$root"
}
cleanup() {
  local rc=$? i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -R "${mounts[i]}" 2>/dev/null || umount -R -l "${mounts[i]}" || true
  done
  remove_root || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed() { echo $(( $(date +%s) - $1 )); }
t0=$(date +%s)
if [ -f "$tarball" ]; then
  echo "fresh-root: pristine $suite minbase root from $tarball"
else
  echo "fresh-root: debootstrap --variant=minbase $suite from $mirror (kept as $tarball)"
  debootstrap --variant=minbase --arch="$arch" "$suite" "$root" "$mirror" >"$root.debootstrap.log" 2>&1 || {
    tail -n 20 "$root.debootstrap.log" >&2
    rm -f "$root.debootstrap.log"
    exit 1
  }
  rm -f "$root.debootstrap.log"
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  remove_root && mkdir "$root"
fi
tar --numeric-owner -C "$root" -xpf "$tarball"
echo "fresh-root: root ready in $(elapsed "$t0") s"

# The root's apt reads the same archives as this machine's; it resolves names with our resolver.
while read -r uri release; do
  echo "deb $uri $release main"
done <<<"$archives" >"$root/etc/apt/sources.list"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
installed=$(chroot "$root" dpkg-query -W -f='${Package}\n' | sort)
for p in cmake g++ libtbb-dev libxsimd-dev catch2; do
  if grep -qx "$p" <<<"$installed"; then
    echo "fresh-root: $p is already installed in the root: it is not fresh" >&2
    exit 1
  fi
done

mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount --rbind /sys "$root/sys" && mounts+=("$root/sys") && mount --make-rslave "$root/sys"
mount --rbind /dev "$root/dev" && mounts+=("$root/dev") && mount --make-rslave "$root/dev"

git clone --quiet --no-hardlinks "$repo" "$root/root/edgeattn"
echo "fresh-root: clean clone of $(git -C "$repo" rev-parse --short HEAD) in /root/edgeattn"

# Runs one command in the root, as a fresh login would, with the stage's environment.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    EDGEATTN_SKIP_FRESH_ROOT=1 EDGEATTN_SKIP_CROSS=1 EDGEATTN_TEST_SCOPE=quick \
    /bin/bash -c "cd /root/edgeattn && $1"
}
step() {
  local t
  t=$(date +%s)
  printf '\n--- fresh-root: %s ---\n' "$1"
  # dpkg's per-package lines are left out of the log (sed, unlike grep -v, exits 0 on no output).
  in_root "$1" 2>&1 | sed -E '/^(Selecting previously|Preparing to unpack|Unpacking |Setting up |\(Reading database)/d'
  echo "--- fresh-root: '$1' passed in $(elapsed "$t") s ---"
}
step "tools/scripts/bench.sh --min-time 0.05"
step "tools/scripts/test.sh"
step "tools/scripts/install-cross-deps.sh --dry-run"
echo "fresh-root: README's Quick start passed on a fresh $suite root in $(elapsed "$t0") s"
