#!/bin/sh
# run-with-keyring.sh: runs a keyring test on a private D-Bus session bus in a home of its
# own, so that the user's keyring and bus are never touched.
#   run-with-keyring.sh running TEST [ARGS…]  a real gnome-keyring-daemon, its login
#                                            collection made and unlocked on the way
#   run-with-keyring.sh absent TEST [ARGS…]   the bus, but no keyring on it
#   run-with-keyring.sh no-bus TEST [ARGS…]   no session bus at all
# The bus activates nothing (no service files), so a missing keyring stays missing and no
# prompter is started.  TEST learns the mode from CULVERT_TEST_KEYRING and the outer home
# from CULVERT_TEST_KEYRING_HOME.
set -eu

mode=$1
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/culvert-keyring-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -m 700 "$tmp/home" "$tmp/run" "$tmp/services"
export HOME="$tmp/home"
export XDG_DATA_HOME="$tmp/home/.local/share"
export XDG_CONFIG_HOME="$tmp/home/.config"
export XDG_CACHE_HOME="$tmp/home/.cache"
export XDG_RUNTIME_DIR="$tmp/run"
export CULVERT_TEST_KEYRING="$mode"
export CULVERT_TEST_KEYRING_HOME="$tmp/home"
unset SECRET_BACKEND GNOME_KEYRING_CONTROL DISPLAY WAYLAND_DISPLAY

cat > "$tmp/session.conf" <<EOT
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$tmp/run</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$tmp/services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOT

status=0
case "$mode" in
  running)
    # gnome-keyring-daemon reads the login password on stdin, makes the login collection
    # with it and unlocks it (an empty one makes it ask a prompter instead).  It runs in the
    # foreground, as our child, so that it is ended by its pid whatever happens; the test
    # starts once it owns org.freedesktop.secrets.  It is not under test: the tests'
    # G_DEBUG=fatal-warnings and malloc checks would abort it on a warning of its own.
    dbus-run-session --config-file="$tmp/session.conf" -- sh -c '
      printf "%s" culvert-test |
        env -u G_DEBUG -u G_ENABLE_DIAGNOSTIC -u MALLOC_CHECK_ -u MALLOC_PERTURB_ \
          gnome-keyring-daemon --foreground --unlock --components=secrets > /dev/null 2>&1 &
      daemon=$!
      if ! gdbus wait --session --timeout 10 org.freedesktop.secrets; then
        echo "gnome-keyring-daemon did not come up on the bus within 10 s" >&2
        kill "$daemon" 2> /dev/null
        exit 1
      fi
      status=0
      "$@" || status=$?
      kill "$daemon" 2> /dev/null
      wait "$daemon" 2> /dev/null
      exit $status' sh "$@" || status=$?
    ;;
  absent)
    dbus-run-session --config-file="$tmp/session.conf" -- "$@" || status=$?
    ;;
  no-bus)
    DBUS_SESSION_BUS_ADDRESS="unix:path=$tmp/run/no-such-bus" "$@" || status=$?
    ;;
  *)
    echo "usage: $0 running|absent|no-bus TEST [ARGS…]" >&2
    exit 2
    ;;
esac
exit $status
