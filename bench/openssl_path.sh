#!/usr/bin/env bash
# Goal 4, the "standard TLS tools" way: one cluster's CA and N node certificates with the
# openssl CLI, shaped as the program shapes them (ECDSA P-256; CA: basicConstraints CA:true,
# KU keyCertSign+cRLSign, SKI; nodes: CN = node, OU = cluster, SANs = DNS + IP as in
# bench/workload.py, KU digitalSignature, EKU serverAuth+clientAuth, basicConstraints CA:false,
# AKI). tests/test_bench_openssl_path.py holds every style's certificates to the program's.
#
# Usage: bench/openssl_path.sh N OUT_DIR [CLUSTER] [STYLE]. Prints the wall time in seconds.
# STYLE is how a node's certificate is made:
#   classic           ecparam, req, x509 -req: three commands per node, as most guides show.
#                     `openssl x509` loads the system trust store on every call (Debian's:
#                     144 certificates, ≈ 45 ms), which is most of this style's time.
#   classic-no-store  the same three commands with the trust store pointed at nothing.
#   one-command       req -x509 -CA -CAkey -newkey (OpenSSL >= 3.0): one command per node.
set -euo pipefail
usage="usage: openssl_path.sh N OUT_DIR [CLUSTER] [classic|classic-no-store|one-command]"
n=${1:?$usage}
out=${2:?$usage}
cluster=${3:-vm0}
style=${4:-classic}
case "$style" in
  classic) ;;
  classic-no-store) export SSL_CERT_FILE=/dev/null SSL_CERT_DIR=/dev/null ;;
  one-command) ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
# The second IP octet must match bench/workload.py hash_octet (sum of the name's bytes % 250).
octet=$(printf '%s' "$cluster" | od -An -tu1 | tr -s ' ' '\n' | awk '{s+=$1} END {print s % 250}')
mkdir -p "$out"
cd "$out"
start=$(date +%s.%N)

openssl ecparam -name prime256v1 -genkey -noout -out ca.key
# A self-signed CA gets no AKI, a node no SKI, as the program makes them (openssl adds both by
# default).
openssl req -x509 -new -key ca.key -sha256 -days 1825 -out ca.crt \
  -subj "/OU=$cluster/CN=$cluster transport CA (bench)" \
  -addext "basicConstraints=critical,CA:true" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" -addext "authorityKeyIdentifier=none"

for ((i = 0; i < n; i++)); do
  node="es-$i"
  dns="$node.$cluster.bench.internal"
  ip="10.$octet.$((i / 250)).$((i % 250 + 1))"
  extensions=("basicConstraints=critical,CA:false" "keyUsage=critical,digitalSignature"
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$dns,IP:$ip"
    "authorityKeyIdentifier=keyid" "subjectKeyIdentifier=none")
  if [[ $style == one-command ]]; then
    addext=()
    for extension in "${extensions[@]}"; do addext+=(-addext "$extension"); done
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc \
      -keyout "$node.key" -CA ca.crt -CAkey ca.key -sha256 -days 365 -out "$node.crt" \
      -subj "/OU=$cluster/CN=$node" "${addext[@]}" 2>/dev/null
    continue
  fi
  openssl ecparam -name prime256v1 -genkey -noout -out "$node.key"
  openssl req -new -key "$node.key" -sha256 -out "$node.csr" -subj "/OU=$cluster/CN=$node" \
    -addext "subjectAltName=DNS:$dns,IP:$ip"
  # openssl x509 -req ignores CSR extensions: the node's extensions are given here, as the CA
  # operator would in an extfile.
  printf '%s\n' "${extensions[@]}" > "$node.ext"
  openssl x509 -req -in "$node.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
    -days 365 -extfile "$node.ext" -out "$node.crt" 2>/dev/null
done

end=$(date +%s.%N)
echo "$end - $start" | bc
