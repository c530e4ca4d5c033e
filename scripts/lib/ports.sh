# Sourced by the scripts that start services: free local ports, and waiting
# for a service to listen.

# N free TCP ports on 127.0.0.1, space-separated.
free_ports() {
  python3 -c 'import socket
ss=[socket.socket() for _ in range('"$1"')]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}

# Waits up to `$2` tenths of a second (100 by default) for port `$1` to accept connections.
wait_for_port() {
  local tries="${2:-100}"
  for _ in $(seq 1 "$tries"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}
