#!/usr/bin/env bash
# Goal 4, the "standard TLS tools" way: one cluster's CA and N node certificates with the
# openssl CLI, shaped as the program shapes them (ECDSA P-256; CA: basicConstraints CA:true,
# KU keyCertSign+cRLSign, SKI; nodes: CN = node, OU = cluster, SANs = DNS + IP as in
# bench/workload.py, KU digitalSignature, EKU serverAuth+clientAuth, basicConstraints CA:false,
# AKI). Usage: bench/openssl_path.sh N OUT_DIR [CLUSTER]. Prints the wall time in seconds.
set -euo pipefail
n=${1:?usage: openssl_path.sh N OUT_DIR [CLUSTER]}
out=${2:?usage: openssl_path.sh N OUT_DIR [CLUSTER]}
cluster=${3:-vm0}
# The second IP octet must match bench/workload.py hash_octet (sum of the name's bytes % 250).
octet=$(printf '%s' "$cluster" | od -An -tu1 | tr -s ' ' '\n' | awk '{s+=$1} END {print s % 250}')
mkdir -p "$out"
cd "$out"
start=$(date +%s.%N)

openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -x509 -new -key ca.key -sha256 -days 1825 -out ca.crt \
  -subj "/OU=$cluster/CN=$cluster transport CA (bench)" \
  -addext "basicConstraints=critical,CA:true" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash"

for ((i = 0; i < n; i++)); do
  node="es-$i"
  dns="$node.$cluster.bench.internal"
  ip="10.$octet.$((i / 250)).$((i % 250 + 1))"
  openssl ecparam -name prime256v1 -genkey -noout -out "$node.key"
  openssl req -new -key "$node.key" -sha256 -out "$node.csr" -subj "/OU=$cluster/CN=$node" \
    -addext "subjectAltName=DNS:$dns,IP:$ip"
  # openssl x509 -req ignores CSR extensions: the node's extensions are given here, as the CA
  # operator would in an extfile.
  printf '%s\n' "basicConstraints=critical,CA:false" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$dns,IP:$ip" \
    "authorityKeyIdentifier=keyid" > "$node.ext"
  openssl x509 -req -in "$node.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
    -days 365 -extfile "$node.ext" -out "$node.crt" 2>/dev/null
done

end=$(date +%s.%N)
echo "$end - $start" | bc
