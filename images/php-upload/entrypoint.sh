#!/bin/bash
# php-upload entrypoint: runs php-fpm and nginx in the foreground, nginx on
# 127.0.0.1:${PORT:-8080}. The container exits when either of them does, and
# SIGTERM/SIGINT stop both.
set -euo pipefail

port=${PORT:-8080}
if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "php-upload: PORT=$port is not a TCP port (1-65535); set PORT to a free port" >&2
  exit 2
fi

fpm=$(command -v php-fpm8.2 || command -v php-fpm || true)
if [ -z "$fpm" ]; then
  echo "php-upload: neither php-fpm8.2 nor php-fpm is on PATH=$PATH; install php8.2-fpm" >&2
  exit 2
fi

mkdir -p /run/php-upload
chown www-data:www-data /run/php-upload
sed "s/@PORT@/$port/" /etc/php-upload/nginx.conf.template >/run/php-upload/nginx.conf

"$fpm" --fpm-config /etc/php-upload/php-fpm.conf --nodaemonize &
fpm_pid=$!
nginx -c /run/php-upload/nginx.conf &
nginx_pid=$!

stopping=0
stop() { kill -TERM "$fpm_pid" "$nginx_pid" 2>/dev/null || true; }
trap 'stopping=1; stop' TERM INT

echo "php-upload: php-fpm pid $fpm_pid, nginx pid $nginx_pid on 127.0.0.1:$port" >&2
rc=0
wait -n "$fpm_pid" "$nginx_pid" || rc=$?
if [ "$stopping" = 0 ]; then
  echo "php-upload: php-fpm or nginx exited (status $rc); stopping the other" >&2
  stop
else
  rc=0
fi
wait || true
exit "$rc"
