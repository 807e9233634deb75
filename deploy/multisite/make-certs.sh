#!/bin/sh
# make-certs.sh: a private certificate authority and one certificate per WTC node, for the TLS
# link between wtcd (central) and wtc-edge (edge nodes), with the openssl command line only.
#
#   make-certs.sh [options] OUTDIR NODE[=HOST[,HOST...]] ...
#   make-certs.sh /root/wtc-pki central=central.plant.local,10.10.0.5 site-a site-b=10.20.0.7
#
# In OUTDIR it writes
#   ca.pem     the CA certificate: copy it to every node (WTC_NODE_CA)
#   ca.key     the CA private key: it signs node certificates and nothing else. Keep it OFFLINE
#              (this machine or a USB stick in a safe); it never goes to a node. Whoever holds it
#              can make a certificate that every node accepts.
#   NODE.pem   the node's certificate (WTC_NODE_CERT), CN = NODE, signed by ca.pem
#   NODE.key   the node's private key (WTC_NODE_KEY): only to that node, mode 0600
#
# HOST names or addresses go into the certificate's subjectAltName (DNS: or IP:); the node name
# itself is always there as DNS: when it is a valid host name. A node accepts a peer whose
# certificate ca.pem signed; CAF does not compare host names, so the names are for people and logs.
# To protect ca.key with a passphrase (openssl then asks for it whenever this script signs):
#   openssl pkey -in ca.key -aes256 -out ca.key.new && mv ca.key.new ca.key && chmod 600 ca.key
#
# Run it again with more names to add nodes: an existing CA and existing node certificates are
# kept (it only reports their expiry). Options:
#   --renew        issue the named nodes a new key and certificate from the existing CA (rotation);
#                  give their HOSTs again, the new certificate has only the ones given now
#   --force        make a NEW CA, replacing ca.pem and ca.key, and re-issue the named nodes. Every
#                  node not named keeps a certificate that the new ca.pem no longer accepts.
#   --key-type T   ec (ECDSA P-256, the default) or rsa (CA 4096 bits, nodes 2048 bits)
#   --days N       validity of node certificates in days (default 825)
#   --ca-days N    validity of a new CA in days (default 3650)
#   --ca-name S    common name of a new CA (default "WTC node CA")
#   -h, --help
# Exit status: 0 done, 1 an openssl step or a check failed, 2 bad usage.
set -eu

umask 077

usage() {
    sed -n '2,/^set -eu$/p' "$0" | sed -e '/^set -eu$/d' -e 's/^# \{0,1\}//'
}

die() {
    printf 'make-certs.sh: %s\n' "$*" >&2
    exit 1
}

usage_error() {
    printf 'make-certs.sh: %s (see --help)\n' "$*" >&2
    exit 2
}

is_number() {
    case $1 in
        '' | *[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

renew=0
force=0
key_type=ec
days=825
ca_days=3650
ca_name='WTC node CA'

while [ $# -gt 0 ]; do
    case $1 in
        --renew) renew=1 ;;
        --force) force=1 ;;
        --key-type)
            [ $# -ge 2 ] || usage_error "--key-type needs a value"
            key_type=$2
            shift
            ;;
        --key-type=*) key_type=${1#*=} ;;
        --days)
            [ $# -ge 2 ] || usage_error "--days needs a value"
            days=$2
            shift
            ;;
        --days=*) days=${1#*=} ;;
        --ca-days)
            [ $# -ge 2 ] || usage_error "--ca-days needs a value"
            ca_days=$2
            shift
            ;;
        --ca-days=*) ca_days=${1#*=} ;;
        --ca-name)
            [ $# -ge 2 ] || usage_error "--ca-name needs a value"
            ca_name=$2
            shift
            ;;
        --ca-name=*) ca_name=${1#*=} ;;
        -h | --help)
            usage
            exit 0
            ;;
        --)
            shift
            break
            ;;
        -*) usage_error "unknown option $1" ;;
        *) break ;;
    esac
    shift
done

[ $# -ge 1 ] || usage_error "no OUTDIR given"
outdir=$1
shift
[ $# -ge 1 ] || [ ! -f "$outdir/ca.pem" ] || [ "$force" -eq 1 ] ||
    usage_error "no node names given (the CA in $outdir exists already)"

case $key_type in
    ec | rsa) ;;
    *) usage_error "--key-type must be ec or rsa, not '$key_type'" ;;
esac
if ! is_number "$days" || [ "$days" -lt 1 ]; then
    usage_error "--days must be a whole number of days"
fi
if ! is_number "$ca_days" || [ "$ca_days" -lt 1 ]; then
    usage_error "--ca-days must be a whole number of days"
fi
case $ca_name in
    *[/=\\]* | '') usage_error "--ca-name may not be empty or contain / = or \\" ;;
esac
[ "$days" -le "$ca_days" ] || { [ -f "$outdir/ca.pem" ] && [ "$force" -eq 0 ]; } ||
    usage_error "--days ($days) is longer than the CA's validity (--ca-days $ca_days)"

command -v openssl >/dev/null 2>&1 || die "the openssl command is not installed (apt-get install openssl)"

# Check every argument before anything is written.
for arg in "$@"; do
    name=${arg%%=*}
    case $name in
        '' | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]*)
            usage_error "node name '$name': use letters, digits, '.', '_' and '-', starting with a letter or digit"
            ;;
        ca) usage_error "'ca' is the CA's file name, not a node name" ;;
    esac
    [ "${#name}" -le 32 ] || usage_error "node name '$name' is longer than 32 characters (the API's limit)"
    case $arg in
        *=*)
            hosts=${arg#*=}
            [ -n "$hosts" ] || usage_error "'$arg': no host after '='"
            case $hosts in
                *[!A-Za-z0-9.:,_-]* | *,,* | ,* | *,) usage_error "'$arg': bad host list '$hosts'" ;;
            esac
            ;;
    esac
done

if [ ! -d "$outdir" ]; then
    mkdir -p "$outdir"
    chmod 0700 "$outdir"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/make-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

# The subject of a certificate request comes from -subj; this keeps openssl off the system's
# openssl.cnf, whatever it holds.
cat >"$work/req.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
EOF

new_key() { # new_key FILE BITS_IF_RSA
    if [ "$key_type" = ec ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -pkeyopt ec_param_enc:named_curve -out "$1" 2>"$work/err" ||
            die "cannot make a key: $(cat "$work/err")"
    else
        openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$1" 2>"$work/err" ||
            die "cannot make a key: $(cat "$work/err")"
    fi
    chmod 0600 "$1"
}

serial() {
    # A random positive 127-bit serial: no serial file to keep, no collision after a --force.
    printf '0x%s' "$(openssl rand -hex 16 | sed 's/^./4/')"
}

ca_is_new=0
if [ -f "$outdir/ca.pem" ] && [ "$force" -eq 0 ]; then
    ca_end=$(openssl x509 -in "$outdir/ca.pem" -noout -enddate 2>/dev/null) ||
        die "$outdir/ca.pem is not a certificate"
    printf 'CA: keeping %s/ca.pem (%s)\n' "$outdir" "$ca_end"
    openssl x509 -in "$outdir/ca.pem" -noout -checkend 0 >/dev/null 2>&1 ||
        die "the CA $outdir/ca.pem has expired: make a new one (--force, or a new OUTDIR) and re-issue every node"
else
    if [ -f "$outdir/ca.pem" ]; then
        printf 'CA: --force: replacing %s/ca.pem and ca.key\n' "$outdir"
    fi
    cat >"$work/ca.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = $ca_name
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    new_key "$work/ca.key" 4096
    openssl req -new -x509 -config "$work/ca.cnf" -key "$work/ca.key" -sha256 \
        -days "$ca_days" -set_serial "$(serial)" -out "$work/ca.pem" 2>"$work/err" ||
        die "cannot make the CA certificate: $(cat "$work/err")"
    chmod 0644 "$work/ca.pem"
    mv -f "$work/ca.key" "$outdir/ca.key"
    mv -f "$work/ca.pem" "$outdir/ca.pem"
    ca_is_new=1
    printf 'CA: made %s/ca.pem and %s/ca.key (%s-day validity). Keep ca.key offline.\n' \
        "$outdir" "$outdir" "$ca_days"
fi

for arg in "$@"; do
    name=${arg%%=*}
    hosts=
    case $arg in *=*) hosts=${arg#*=} ;; esac
    cert=$outdir/$name.pem
    key=$outdir/$name.key

    if [ -f "$cert" ] && [ -f "$key" ] && [ "$renew" -eq 0 ] && [ "$ca_is_new" -eq 0 ]; then
        if ! openssl verify -CAfile "$outdir/ca.pem" "$cert" >/dev/null 2>&1; then
            printf '%s: WARNING: %s does not verify against %s/ca.pem (expired, or another CA): re-issue it with --renew\n' \
                "$name" "$cert" "$outdir" >&2
        elif ! openssl x509 -in "$cert" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; then
            printf '%s: keeping %s, but it EXPIRES WITHIN 30 DAYS (%s): re-issue it with --renew\n' \
                "$name" "$cert" "$(openssl x509 -in "$cert" -noout -enddate)"
        else
            printf '%s: keeping %s (%s)\n' "$name" "$cert" "$(openssl x509 -in "$cert" -noout -enddate)"
        fi
        [ -z "$hosts" ] || printf '%s: note: host names are only set when the certificate is issued; use --renew to change them\n' "$name"
        continue
    fi

    [ -f "$outdir/ca.key" ] ||
        die "$outdir/ca.key is not here: bring the CA key back from its offline place to sign '$name'"

    # subjectAltName: the node name when it is a host name, then the given hosts.
    san=
    case $name in
        *[!A-Za-z0-9.-]* | -* | .* | *.) ;;
        *) san="DNS:$name" ;;
    esac
    old_ifs=$IFS
    IFS=,
    for host in $hosts; do
        case $host in
            *:*) entry="IP:$host" ;; # IPv6
            *[!0-9.]*) entry="DNS:$host" ;;
            *) entry="IP:$host" ;; # IPv4
        esac
        [ "$entry" = "DNS:$name" ] && continue
        san="${san:+$san,}$entry"
    done
    IFS=$old_ifs

    if [ "$key_type" = rsa ]; then
        usage_bits='critical, digitalSignature, keyEncipherment'
    else
        usage_bits='critical, digitalSignature'
    fi
    {
        printf '[node]\n'
        printf 'basicConstraints = critical, CA:FALSE\n'
        printf 'keyUsage = %s\n' "$usage_bits"
        # Every node is a TLS server and a TLS client (the central node accepts, edges connect).
        printf 'extendedKeyUsage = serverAuth, clientAuth\n'
        printf 'subjectKeyIdentifier = hash\n'
        printf 'authorityKeyIdentifier = keyid:always\n'
        [ -z "$san" ] || printf 'subjectAltName = %s\n' "$san"
    } >"$work/$name.ext"

    new_key "$work/$name.key" 2048
    openssl req -new -config "$work/req.cnf" -key "$work/$name.key" -subj "/CN=$name" -out "$work/$name.csr" 2>"$work/err" ||
        die "$name: cannot make a certificate request: $(cat "$work/err")"
    # openssl asks for the CA key's passphrase here if ca.key is encrypted.
    openssl x509 -req -in "$work/$name.csr" -CA "$outdir/ca.pem" -CAkey "$outdir/ca.key" \
        -set_serial "$(serial)" -sha256 -days "$days" \
        -extfile "$work/$name.ext" -extensions node -out "$work/$name.pem" 2>"$work/err" ||
        die "$name: cannot sign the certificate: $(cat "$work/err")"
    # A ca.key that does not belong to ca.pem is caught here, before anything is replaced.
    openssl verify -CAfile "$outdir/ca.pem" "$work/$name.pem" >"$work/err" 2>&1 ||
        die "$name: the new certificate does not verify against $outdir/ca.pem (does ca.key belong to it?): $(cat "$work/err")"
    chmod 0644 "$work/$name.pem"
    mv -f "$work/$name.key" "$key"
    mv -f "$work/$name.pem" "$cert"
    printf '%s: issued %s and %s (CN=%s%s, %s days)\n' "$name" "$cert" "$key" "$name" \
        "${san:+, $san}" "$days"
done

if [ "$ca_is_new" -eq 1 ]; then
    for cert in "$outdir"/*.pem; do
        if [ ! -f "$cert" ] || [ "$cert" = "$outdir/ca.pem" ]; then
            continue
        fi
        openssl verify -CAfile "$outdir/ca.pem" "$cert" >/dev/null 2>&1 ||
            printf 'WARNING: %s was signed by the old CA: re-issue it (make-certs.sh --renew %s %s)\n' \
                "$cert" "$outdir" "$(basename "$cert" .pem)" >&2
    done
fi
