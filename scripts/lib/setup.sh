# Shared set-up steps for scripts/test.sh and scripts/demo.sh (sourced, not run).

# Debian packages: ffmpeg for test clips, GStreamer's RTSP server run by Debian's python3,
# the shared libraries opencv-python loads, openssl + socat for the broker TLS tests
# (a test CA, and a TLS terminator in front of RabbitMQ), and headless Chromium with its
# WebDriver and a CJK font for the replay report's browser test (and its screenshot's 中文).
SYSTEM_PACKAGES=(ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav libgl1 libglib2.0-0 openssl socat
  chromium chromium-driver fonts-droid-fallback systemd)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

wait_for_port() {  # host port seconds
  local deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "nothing listens on $1:$2 after $3 s" >&2; return 1; }
    sleep 1
  done
}

start_services() {
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    echo "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  fi
  if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
    echo "starting RabbitMQ"
    as_root rabbitmq-server -detached
  fi
  wait_for_port 127.0.0.1 5432 60
  wait_for_port 127.0.0.1 5672 120
  # `aibrain broker provision --admin-url` and its tests use the management API; enabling it is
  # idempotent and needs no restart.
  if ! (exec 3<>/dev/tcp/127.0.0.1/15672) 2>/dev/null; then
    echo "enabling the RabbitMQ management plugin"
    as_root rabbitmq-plugins enable -q rabbitmq_management >/dev/null
  fi
  wait_for_port 127.0.0.1 15672 60
}

install_python_env() {  # pip requirement spec, e.g. ".[test]"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e "$1" >.venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    return 1
  fi
}
