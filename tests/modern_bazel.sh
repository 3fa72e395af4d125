#!/usr/bin/env bash
# libmemkit as a Bazel module on a modern Bazel, offline: Debian's bazel-bootstrap 7.7.1
# (Debian unstable; it needs a newer glibc than Debian 12's) in a debootstrap'ed sid
# chroot, bzlmod only (--noenable_workspace). Builds and tests //... there, then
# builds and runs examples/consumer_bzlmod, which depends on libmemkit through
# bazel_dep. Modules that cannot be downloaded come from Debian's Bazel rule packages
# (/usr/share/bazel) or are small stand-ins written here.
#
# The chroot is kept outside the repository and reused when present:
#   MEMKIT_SID_CHROOT (default /var/cache/memkit/sid). Run as root.
# Usage: tests/modern_bazel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=${MEMKIT_SID_CHROOT:-/var/cache/memkit/sid}
apt_options=(-o Acquire::Check-Valid-Until=false -o Acquire::Retries=3)
packages=(bazel-bootstrap g++ pkg-config liburcu-dev libuv1-dev libgtest-dev libgmock-dev valgrind socat python3
          libglib2.0-dev libapr1-dev libtalloc-dev libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev
          sqlite3 git)

ready="$root/.memkit-chroot-ready"
if [[ ! -e "$ready" ]]; then
    bash third_party/install_packages.sh debootstrap >/dev/null
    echo "setting up the Debian unstable chroot in $root (once)"
    umount "$root/proc" 2>/dev/null || true
    rm -rf "$root"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase sid "$root" http://deb.debian.org/debian >/dev/null
    cp /etc/resolv.conf "$root/etc/resolv.conf"
fi
# /proc before any package is configured: the JDK's scripts need it.
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
# The packages: all of them the first time, later only those added to the list since.
missing=()
for p in "${packages[@]}"; do
    [[ -e "$ready" ]] && chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
if ((${#missing[@]})); then
    chroot "$root" apt-get "${apt_options[@]}" update -qq
    if ! log=$(chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" install -y -qq \
            --no-install-recommends "${missing[@]}" 2>&1); then
        echo "$log" | tail -20; echo "FAIL: could not install the chroot's packages"; exit 1
    fi
    touch "$ready"
fi

# Stand-ins for the modules Bazel 7's own tools ask for and nothing here uses, and for
# rules_shell (this repository's stand-in: Bazel 7 still has sh_test built in).
standins="$root/opt/memkit-standins"
for module in apple_support buildozer protobuf zlib; do
    mkdir -p "$standins/$module"
    printf 'module(name = "%s")\n' "$module" > "$standins/$module/MODULE.bazel"
    printf '# an empty stand-in: nothing here uses %s\n' "$module" > "$standins/$module/BUILD.bazel"
done
rm -rf "$standins/rules_shell"
cp -r third_party/rules_shell "$standins/rules_shell"
printf 'module(name = "rules_shell")\n' > "$standins/rules_shell/MODULE.bazel"
share=/usr/share/bazel
cat > "$root/opt/memkit-bzlmod.rc" <<EOF
common --noenable_workspace --lockfile_mode=off
common --override_module=rules_cc=$share/rules/cc
common --override_module=rules_java=$share/rules/java
common --override_module=rules_license=$share/rules/license
common --override_module=rules_proto=$share/rules/proto
common --override_module=rules_python=$share/rules/python
common --override_module=platforms=$share/tools/platforms
common --override_module=bazel_features=$share/tools/features
common --override_module=bazel_skylib=$share/tools/skylib
common --override_module=rules_shell=/opt/memkit-standins/rules_shell
common --override_module=apple_support=/opt/memkit-standins/apple_support
common --override_module=buildozer=/opt/memkit-standins/buildozer
common --override_module=protobuf=/opt/memkit-standins/protobuf
common --override_module=zlib=/opt/memkit-standins/zlib
EOF

# This checkout's files (what git tracks, as they are now) at /src/libmemkit.
rm -rf "$root/src/libmemkit"
mkdir -p "$root/src/libmemkit"
git ls-files -z | xargs -0 tar -c | tar -x -C "$root/src/libmemkit"

in_chroot() { # in_chroot DIRECTORY COMMAND...: runs in the chroot, HOME set
    local dir="$1"; shift
    chroot "$root" /usr/bin/env HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c "cd $dir && $*"
}
version=$(in_chroot /src/libmemkit bazel --version)
echo "=== $version, bzlmod only: bazel test //..."
status=0
out=$(in_chroot /src/libmemkit bazel --bazelrc=/opt/memkit-bzlmod.rc test //... 2>&1) || status=1
grep -E "^//.*(PASSED|FAILED|TIMEOUT|NO STATUS)|^ERROR|Executed" <<<"$out" || echo "$out" | tail -20
echo "=== examples/consumer_bzlmod: bazel_dep(name = \"libmemkit\") + local_path_override"
if out=$(in_chroot /src/libmemkit/examples/consumer_bzlmod \
        bazel --bazelrc=/opt/memkit-bzlmod.rc run //:echo_buffers 2>&1); then
    echo "$out" | tail -1
    [[ "$out" == *"as a dependency: ok"* ]] || status=1
else
    echo "$out" | tail -20; status=1
fi
in_chroot /src/libmemkit/examples/consumer_bzlmod bazel shutdown >/dev/null 2>&1 || true
in_chroot /src/libmemkit bazel shutdown >/dev/null 2>&1 || true
if [[ $status -eq 0 ]]; then
    echo "PASS: libmemkit builds, tests and is consumed as a module on $version"
else
    echo "FAIL: see above"
fi
exit $status
