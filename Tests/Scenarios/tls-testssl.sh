#!/usr/bin/env bash
# External TLS check: testssl.sh against strata-web's HTTPS port and against
# nginx serving the same certificate with Mozilla's "intermediate" settings,
# then: no finding of severity HIGH or CRITICAL on strata's TLS (protocols,
# ciphers, preferences, vulnerabilities), the same verdicts as nginx there,
# and the same verdicts as nginx on the certificate (which is the test CA's:
# testssl rates a private certificate without revocation URIs HIGH on both). `openssl s_client` and `curl --http1.1` check the basics first.
#
#   Tests/Scenarios/tls-testssl.sh        # uses the debug build (swift build)
#   BIN=.build/release Tests/Scenarios/tls-testssl.sh
#
# Loopback only; everything started here is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$(swift build --show-bin-path)}
for tool in testssl nginx openssl curl python3; do
    command -v "$tool" >/dev/null || { echo "tls-testssl: $tool is missing (.ci/run installs it)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/strata-testssl-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

"$BIN/strata" tls init "$work/certs" --names localhost >/dev/null
cert=$work/certs/localhost.crt key=$work/certs/localhost.key ca=$work/certs/ca.crt
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
strata_port=$(free_port) nginx_port=$(free_port)

STRATA_RPC_SECRET=testssl-secret-0123456789abcdef "$BIN/strata-web" serve --port "$strata_port" --app 127.0.0.1:9 \
    --tls-cert "$cert" --tls-key "$key" > "$work/web.log" 2>&1 &
pids+=($!)
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$nginx_port ssl;
        ssl_certificate $cert;
        ssl_certificate_key $key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers on;
        ssl_session_cache shared:SSL:10m;
        location / { return 200 "ok\n"; }
    }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
pids+=($!)
for _ in $(seq 1 100); do grep -q "msg=ready" "$work/web.log" && [ -s "$work/nginx/nginx.pid" ] && break; sleep 0.1; done
grep -q "msg=ready" "$work/web.log" || { cat "$work/web.log"; exit 1; }

echo "== basics"
curl -sS --http1.1 --cacert "$ca" "https://localhost:$strata_port/healthz" | grep -qx ok
echo | openssl s_client -connect "127.0.0.1:$strata_port" -servername localhost -CAfile "$ca" -verify_return_error -alpn http/1.1 2>&1 \
    | grep -E "^(Protocol|ALPN protocol|Verify return code)|New, TLS" | sed 's/^/  /'

scan() { # port name
    testssl --quiet --color 0 --warnings off --fast --sneaky --add-ca "$ca" -p -f -U -S -P --jsonfile "$work/$2.json" "https://localhost:$1" \
        > "$work/$2.txt" 2>&1 || true
    [ -s "$work/$2.json" ] || { cat "$work/$2.txt"; echo "tls-testssl: testssl wrote no results for $2" >&2; exit 1; }
}
echo "== testssl against strata-web (port $strata_port) and nginx (port $nginx_port)"
scan "$strata_port" strata
scan "$nginx_port" nginx

python3 - "$work/strata.json" "$work/nginx.json" <<'PY'
import json, sys
def load(path):
    return {f["id"]: f for f in json.load(open(path))}
strata, nginx = load(sys.argv[1]), load(sys.argv[2])
high = lambda f: f.get("severity") in ("HIGH", "CRITICAL")
certificate = lambda i: i.startswith("cert") or i.startswith("intermediate_cert")
bad = [f for f in strata.values() if high(f) and not certificate(f["id"])]
for f in bad:
    print(f"  HIGH/CRITICAL on strata: {f['id']}: {f['finding']}")
for f in strata.values():
    if high(f) and certificate(f["id"]):
        same = nginx.get(f["id"], {}).get("finding") == f["finding"]
        print(f"  certificate finding {f['severity']} on strata{' and nginx alike' if same else ' (NOT on nginx)'}: {f['id']}: {f['finding']}")
        if not same:
            bad.append(f)
# Verdicts that depend on the TLS stack's settings, not on the certificate or the HTTP layer.
compared = [i for i in nginx if i.split("_")[0] in ("SSLv2", "SSLv3", "TLS1", "TLS1", "cipherlist", "FS", "cipher", "fallback", "heartbleed",
            "CCS", "ticketbleed", "ROBOT", "secure", "CRIME", "POODLE", "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4")
            or i.startswith(("TLS1_1", "TLS1_2", "TLS1_3", "secure_renego", "secure_client_renego", "cipher_order"))]
differences = []
for i in sorted(compared):
    a, b = strata.get(i), nginx[i]
    if a is None or (a["severity"], a["finding"]) != (b["severity"], b["finding"]):
        differences.append((i, a and f"{a['severity']}: {a['finding']}", f"{b['severity']}: {b['finding']}"))
print(f"  {len(compared)} verdicts compared with nginx, {len(differences)} differ")
for i, a, b in differences:
    print(f"    {i}: strata {a!r} / nginx {b!r}")
worse = [d for d in differences if d[1] is None or d[1].split(":")[0] in ("LOW", "MEDIUM", "HIGH", "CRITICAL")]
sys.exit(1 if bad or worse else 0)
PY
echo "tls-testssl: no HIGH or CRITICAL finding on the TLS settings; protocols, ciphers and certificate graded like nginx"
