#!/usr/bin/env bash
# Build Culvert for Windows in an MSYS2 UCRT64 shell, stage a self-contained tree
# (the programs, every DLL they load, GSettings schemas, icons, the GIO TLS
# module) and wrap it into an installer with NSIS.  See README.md.
#
# usage: windows-installer/build-msys2.sh [--no-installer | --share-gateway FILE.culvert]
#   --share-gateway: a helpdesk's installer, with FILE (a provisioning file with a
#   "share_gateway" member) as the default gateway for "Share this computer".
set -euo pipefail

if [ "${MSYSTEM:-}" != "UCRT64" ]; then
  echo "build-msys2.sh: run this in an MSYS2 UCRT64 shell (MSYSTEM is '${MSYSTEM:-unset}')" >&2
  exit 1
fi

make_installer=yes
share_gateway=
case "${1:-}" in
  '') ;;
  --no-installer) make_installer=no ;;
  --share-gateway)
    share_gateway=${2:?"--share-gateway needs a .culvert file"}
    [ -f "$share_gateway" ] || { echo "build-msys2.sh: no such file: $share_gateway" >&2; exit 2; }
    ;;
  *) echo "usage: $0 [--no-installer | --share-gateway FILE.culvert]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
build="$top/_build-windows"
stage="$here/stage"
prefix=${MINGW_PREFIX:-/ucrt64}
pkg=mingw-w64-ucrt-x86_64

# libsecret is left out: the keyring on Windows is the Credential Manager, not the
# Secret Service, and meson builds the app without it there (the app then says that
# there is no keyring and asks for passwords when it connects).
packages=(
  "$pkg-gcc"
  "$pkg-meson"
  "$pkg-ninja"
  "$pkg-pkgconf"
  "$pkg-gettext-tools"
  "$pkg-libxml2"
  "$pkg-gtk4"
  "$pkg-libadwaita"
  "$pkg-librsvg"
  "$pkg-adwaita-icon-theme"
  "$pkg-json-glib"
  "$pkg-gnutls"
  "$pkg-libsodium"
  "$pkg-libsoup3"
  "$pkg-glib-networking"
  "$pkg-nsis"
)

echo "==> installing MSYS2 packages"
pacman -S --needed --noconfirm "${packages[@]}"

echo "==> building into $stage"
rm -rf "$build" "$stage"
# The prefix is the staging tree itself; the app finds its data relative to its
# own .exe at run time, so the tree can be installed anywhere.
meson setup "$build" "$top" \
  --prefix="$(cygpath -m "$stage")" \
  --buildtype=release \
  -Dgui=enabled \
  -Dtests=false
meson compile -C "$build"
meson install -C "$build"

test -f "$stage/bin/culvert.exe" || { echo "build-msys2.sh: culvert.exe was not built" >&2; exit 1; }

echo "==> GIO modules: TLS (GnuTLS)"
mkdir -p "$stage/lib/gio/modules"
cp "$prefix/lib/gio/modules/libgiognutls.dll" "$stage/lib/gio/modules/"
gio-querymodules "$stage/lib/gio/modules"

echo "==> image loaders (the icons are SVG)"
cp -RT "$prefix/lib/gdk-pixbuf-2.0" "$stage/lib/gdk-pixbuf-2.0"

echo "==> helper programs GLib runs: the D-Bus session bus, spawning"
cp "$prefix/bin/gdbus.exe" "$prefix"/bin/gspawn-win64-helper*.exe "$stage/bin/"

echo "==> DLLs"
# Every DLL from $prefix that any staged binary loads, directly or not: ldd
# follows the whole chain.  System DLLs (C:\Windows) stay out.
copy_dlls() {
  local file dll
  for file in "$@"; do
    ldd "$file" | awk -v p="$prefix/bin/" 'index(tolower($3), p) == 1 { print $3 }' |
      while read -r dll; do
        cp -n "$dll" "$stage/bin/"
      done
  done
}
shopt -s nullglob globstar
copy_dlls "$stage"/bin/*.exe "$stage"/lib/gio/modules/*.dll "$stage"/lib/gdk-pixbuf-2.0/**/*.dll
shopt -u globstar

# The libraries without which the app cannot start: a miss here means ldd did not see
# them, and the installer would install an app that fails on the user's machine.
for dll in 'libgtk-4-*.dll' 'libadwaita-1-*.dll' 'libjson-glib-1.0-*.dll' 'libgnutls-*.dll' \
           'libsodium*.dll'; do
  found=("$stage"/bin/$dll)
  [ ${#found[@]} -gt 0 ] ||
    { echo "build-msys2.sh: no $dll in $stage/bin: ldd did not find it, so it was not bundled" >&2; exit 1; }
done

echo "==> GSettings schemas"
cp "$prefix"/share/glib-2.0/schemas/org.gtk.gtk4.*.gschema.xml "$stage/share/glib-2.0/schemas/"
glib-compile-schemas "$stage/share/glib-2.0/schemas"

echo "==> icons"
mkdir -p "$stage/share/icons"
cp -RT "$prefix/share/icons/Adwaita" "$stage/share/icons/Adwaita"
cp -RTn "$prefix/share/icons/hicolor" "$stage/share/icons/hicolor"
gtk4-update-icon-cache -q -t -f "$stage/share/icons/Adwaita"
gtk4-update-icon-cache -q -t -f "$stage/share/icons/hicolor"

echo "==> translations of GTK, libadwaita and GLib"
for mo in "$prefix"/share/locale/*/LC_MESSAGES/{gtk40,libadwaita,glib20}.mo; do
  rel=${mo#"$prefix/"}
  mkdir -p "$stage/$(dirname "$rel")"
  cp "$mo" "$stage/$rel"
done
shopt -u nullglob

echo "==> trimming what an installed app does not need"
rm -rf "$stage/include" "$stage/lib/pkgconfig"
find "$stage/lib" -name '*.a' -delete

if [ "$make_installer" = yes ]; then
  version=$(meson introspect --projectinfo "$build" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
  echo "==> installer for Culvert $version"
  extra=()
  [ -n "$share_gateway" ] && extra+=("-DSHARE_GATEWAY=$(cygpath -w "$share_gateway")")
  makensis -V2 \
    -DVERSION="$version" \
    "${extra[@]}" \
    -DSTAGE_DIR="$(cygpath -w "$stage")" \
    -DOUTFILE="$(cygpath -w "$here/culvert-$version-setup.exe")" \
    "$(cygpath -w "$here/culvert.nsi")"
  echo "Built $here/culvert-$version-setup.exe"
else
  echo "Staged in $stage (no installer made)"
fi
