#!/bin/bash
# The HEALTHCHECK of the localrds image: GET /_localrds/health on the API port, healthy when it
# answers 200. Uses bash's /dev/tcp because the image has no curl (not worth its libraries).
# Reads the port and address from LOCALRDS_PORT and LOCALRDS_HOST, as localrds does: give the
# API port with -e LOCALRDS_PORT=..., not `serve --port ...`, or this checks the wrong port.
host="${LOCALRDS_HOST:-127.0.0.1}"
case "$host" in
  "" | 0.0.0.0 | "*") host=127.0.0.1 ;;
  :: | "[::]") host=::1 ;;
esac
port="${LOCALRDS_PORT:-4566}"
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /_localrds/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
read -r -t 5 _ status _ <&3 || exit 1
[ "$status" = 200 ] || { echo "GET /_localrds/health: HTTP $status" >&2; exit 1; }
