#!/bin/sh
# Writes .env with fresh random secrets for docker compose (and anything else that reads
# it): the shop, admin and PSP API keys, the PSP webhook signing secret, the key that
# seals endpoint secrets at rest, the metrics token and the PostgreSQL password.
#   sh scripts/new-env.sh            # writes ./.env, refuses to overwrite one
#   sh scripts/new-env.sh path/.env  # another file
#   sh scripts/new-env.sh --stdout   # prints instead (e.g. into a secret manager)
# Needs only a POSIX shell, od and /dev/urandom.
set -eu

out=.env
case "${1:-}" in
  --stdout) out=- ;;
  -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  *) out=$1 ;;
esac

# n random bytes as base64 (standard alphabet, padded), without depending on base64(1).
b64() {
  od -An -v -tu1 -N "$1" /dev/urandom | awk '
    BEGIN { a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" }
    { for (i = 1; i <= NF; i++) b[n++] = $i }
    END {
      for (i = 0; i < n; i += 3) {
        x = b[i] * 65536 + (i + 1 < n ? b[i + 1] * 256 : 0) + (i + 2 < n ? b[i + 2] : 0)
        s = s substr(a, int(x / 262144) % 64 + 1, 1) substr(a, int(x / 4096) % 64 + 1, 1)
        s = s (i + 1 < n ? substr(a, int(x / 64) % 64 + 1, 1) : "=") (i + 2 < n ? substr(a, x % 64 + 1, 1) : "=")
      }
      print s
    }'
}
# A key for an Authorization header: base64url, no padding.
token() { b64 "$1" | tr '+/' '-_' | tr -d '='; }

content="# Written by scripts/new-env.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Keep it out of version control.
API_KEYS=sk_shop_$(token 32)
ADMIN_API_KEYS=sk_admin_$(token 32)
PSP_API_KEY=sk_psp_$(token 32)
PSP_WEBHOOK_SECRET=whsec_$(b64 32)
SEALING_KEYS=k$(date -u +%Y%m%d):$(b64 32)
METRICS_TOKEN=$(token 32)
POSTGRES_PASSWORD=$(token 24)"

if [ "$out" = - ]; then
  printf '%s\n' "$content"
  exit 0
fi
if [ -e "$out" ]; then
  echo "$out exists; not overwriting it (move it away first to start from fresh secrets)." >&2
  exit 1
fi
umask 077
printf '%s\n' "$content" >"$out"
echo "Wrote $out with fresh secrets (mode 600). docker compose reads it; keep it out of version control."
