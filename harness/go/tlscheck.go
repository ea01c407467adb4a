// tlscheck: Go's crypto/x509 and crypto/tls as an oracle for the certificates es-transport-pki
// issues. ECK's operator, Beats and Elastic Agent are Go programs; they parse and verify our
// material with exactly these standard-library calls, which are stricter than OpenSSL in places
// (client EKU enforced, no CommonName hostname fallback, strict DER, key formats).
//
// Standard library only, so it builds offline with GO111MODULE=off. Driven by
// harness/go_tls.py: ONE process per batch, a JSON request on stdin, a JSON answer on stdout
// with one result per check, in order. A check that cannot be set up (a PEM that does not load)
// is a result with "setupError", not a crash: the driver turns it into an IdentityError.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"time"
)

type identity struct {
	Certificate string `json:"certificate"` // PEM chain, leaf first; "" = presents none
	Key         string `json:"key"`
	Trusted     string `json:"trusted"` // PEM CA bundle; "" on a server = asks for no client cert
}

type check struct {
	Kind string `json:"kind"` // "handshake", "verify" or "eckCa"

	// handshake
	Server         identity `json:"server"`
	Client         identity `json:"client"`
	ServerName     string   `json:"serverName"`
	VerifyHostname bool     `json:"verifyHostname"`
	Protocols      []string `json:"protocols"`

	// verify: chain[0] against roots, chain[1:] as intermediates
	Chain     string   `json:"chain"`
	Roots     string   `json:"roots"`
	DNSName   string   `json:"dnsName"`
	KeyUsages []string `json:"keyUsages"`

	// eckCa: the Secret's decoded data
	CaCrt string `json:"caCrt"`
	CaKey string `json:"caKey"`
}

type request struct {
	TimeoutMillis int     `json:"timeoutMillis"`
	Checks        []check `json:"checks"`
}

type result struct {
	OK          bool   `json:"ok"`
	SetupError  string `json:"setupError,omitempty"`
	ServerError string `json:"serverError,omitempty"`
	ClientError string `json:"clientError,omitempty"`
	Protocol    string `json:"protocol,omitempty"`
	Error       string `json:"error,omitempty"`
	// eckCa: what Go made of the Secret, for the driver's assertions.
	KeyType           string `json:"keyType,omitempty"`
	IsCA              bool   `json:"isCA,omitempty"`
	CertSign          bool   `json:"certSign,omitempty"`
	SignedAndVerified bool   `json:"signedAndVerified,omitempty"`
}

var (
	ping    = []byte("ping")
	pong    = []byte("pong")
	timeout = 10 * time.Second
	// After a failure each side half-closes and drains at most this long (see linger).
	lingerTimeout = 2 * time.Second
)

var protocolVersions = map[string]uint16{"TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}

var versionNames = map[uint16]string{tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}

var extKeyUsages = map[string]x509.ExtKeyUsage{
	"serverAuth": x509.ExtKeyUsageServerAuth,
	"clientAuth": x509.ExtKeyUsageClientAuth,
	"any":        x509.ExtKeyUsageAny,
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "tlscheck: bad request:", err)
		os.Exit(2)
	}
	if req.TimeoutMillis > 0 {
		timeout = time.Duration(req.TimeoutMillis) * time.Millisecond
	}
	results := make([]result, len(req.Checks))
	for i, c := range req.Checks {
		switch c.Kind {
		case "handshake":
			results[i] = handshake(c)
		case "verify":
			results[i] = verify(c)
		case "eckCa":
			results[i] = eckCa(c)
		default:
			results[i] = result{SetupError: fmt.Sprintf("unknown check kind %q", c.Kind)}
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string][]result{"results": results}); err != nil {
		fmt.Fprintln(os.Stderr, "tlscheck:", err)
		os.Exit(2)
	}
}

// ---------------------------------------------------------------------------------------------
// Handshakes
// ---------------------------------------------------------------------------------------------

func pool(pemText string) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM([]byte(pemText)) {
		return nil, errors.New("no PEM certificate in the CA bundle")
	}
	return p, nil
}

func versions(names []string) (uint16, uint16, error) {
	var lowest, highest uint16
	for _, name := range names {
		v, ok := protocolVersions[name]
		if !ok {
			return 0, 0, fmt.Errorf("unsupported protocol %q", name)
		}
		if lowest == 0 || v < lowest {
			lowest = v
		}
		if v > highest {
			highest = v
		}
	}
	if lowest == 0 {
		return 0, 0, errors.New("no protocol enabled")
	}
	return lowest, highest, nil
}

// configs builds both sides as Beats/Agent/ECK would: tls.X509KeyPair reads the PEM chain and
// the key (PKCS#1, SEC1 or PKCS#8), the server verifies client certificates against ClientCAs
// (crypto/tls then demands EKU clientAuth or none), the client verifies against RootCAs and,
// with VerifyHostname, checks ServerName against the SANs only (no CommonName fallback).
func configs(c check) (*tls.Config, *tls.Config, error) {
	minVersion, maxVersion, err := versions(c.Protocols)
	if err != nil {
		return nil, nil, err
	}
	serverPair, err := tls.X509KeyPair([]byte(c.Server.Certificate), []byte(c.Server.Key))
	if err != nil {
		return nil, nil, fmt.Errorf("server identity: %w", err)
	}
	server := &tls.Config{
		Certificates: []tls.Certificate{serverPair},
		MinVersion:   minVersion,
		MaxVersion:   maxVersion,
		ClientAuth:   tls.NoClientCert,
	}
	if c.Server.Trusted != "" {
		if server.ClientCAs, err = pool(c.Server.Trusted); err != nil {
			return nil, nil, fmt.Errorf("server trust: %w", err)
		}
		server.ClientAuth = tls.RequireAndVerifyClientCert
	}
	roots, err := pool(c.Client.Trusted)
	if err != nil {
		return nil, nil, fmt.Errorf("client trust: %w", err)
	}
	client := &tls.Config{
		RootCAs:    roots,
		ServerName: c.ServerName,
		MinVersion: minVersion,
		MaxVersion: maxVersion,
	}
	if c.Client.Certificate != "" {
		clientPair, err := tls.X509KeyPair([]byte(c.Client.Certificate), []byte(c.Client.Key))
		if err != nil {
			return nil, nil, fmt.Errorf("client identity: %w", err)
		}
		client.Certificates = []tls.Certificate{clientPair}
	}
	if !c.VerifyHostname {
		// Elasticsearch's verification_mode "certificate": the chain, not the name. crypto/tls
		// has no such mode, so skip its check and verify the chain the same way without a name.
		client.InsecureSkipVerify = true
		client.VerifyConnection = func(state tls.ConnectionState) error {
			intermediates := x509.NewCertPool()
			for _, cert := range state.PeerCertificates[1:] {
				intermediates.AddCert(cert)
			}
			_, err := state.PeerCertificates[0].Verify(x509.VerifyOptions{
				Roots: roots, Intermediates: intermediates,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			return err
		}
	}
	return server, client, nil
}

// linger: after a failure, half-close and drain until the peer closes. Closing a socket with
// unread peer data sends an RST, which can overtake our TLS alert; the peer would then report
// "connection reset" instead of the real reason.
func linger(raw net.Conn) {
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
	_ = raw.SetDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.Copy(io.Discard, raw)
}

func exchange(conn *tls.Conn, send, expect []byte) error {
	if err := conn.Handshake(); err != nil {
		return err
	}
	if send != nil {
		if _, err := conn.Write(send); err != nil {
			return err
		}
	}
	got := make([]byte, len(expect))
	if _, err := io.ReadFull(conn, got); err != nil {
		return err
	}
	if string(got) != string(expect) {
		return fmt.Errorf("expected %q, got %q", expect, got)
	}
	return nil
}

type served struct {
	err      error
	protocol string
}

func serve(listener net.Listener, config *tls.Config, done chan<- served) {
	raw, err := listener.Accept()
	if err != nil {
		done <- served{err: err}
		return
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(timeout))
	conn := tls.Server(raw, config)
	// The server reads the ping first: with TLS 1.3 that is when it judges the client's
	// certificate, and the client learns the verdict only from its read of the pong.
	if err := exchange(conn, nil, ping); err != nil {
		linger(raw)
		done <- served{err: err}
		return
	}
	if _, err := conn.Write(pong); err != nil {
		done <- served{err: err}
		return
	}
	done <- served{protocol: versionNames[conn.ConnectionState().Version]}
}

func handshake(c check) result {
	serverConfig, clientConfig, err := configs(c)
	if err != nil {
		return result{SetupError: err.Error()}
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{SetupError: err.Error()}
	}
	defer listener.Close()
	done := make(chan served, 1)
	go serve(listener, serverConfig, done)

	clientError := ""
	raw, err := net.DialTimeout("tcp", listener.Addr().String(), timeout)
	if err != nil {
		clientError = err.Error()
	} else {
		_ = raw.SetDeadline(time.Now().Add(timeout))
		conn := tls.Client(raw, clientConfig)
		if err := exchange(conn, ping, pong); err != nil {
			clientError = err.Error()
			linger(raw)
		}
		raw.Close()
	}
	var server served
	select {
	case server = <-done:
	case <-time.After(3*timeout + lingerTimeout):
		server = served{err: errors.New("server did not finish")}
	}
	r := result{ClientError: clientError}
	if server.err != nil {
		r.ServerError = server.err.Error()
	}
	r.OK = r.ServerError == "" && r.ClientError == ""
	if r.OK {
		r.Protocol = server.protocol
	}
	return r
}

// ---------------------------------------------------------------------------------------------
// Chain verification
// ---------------------------------------------------------------------------------------------

// parseCertificates parses every CERTIFICATE block with x509.ParseCertificate (strict DER), so a
// certificate Go cannot read is an error here rather than silently skipped as by
// CertPool.AppendCertsFromPEM.
func parseCertificates(pemText string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(pemText)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return certs, nil
}

func verify(c check) result {
	chain, err := parseCertificates(c.Chain)
	if err != nil {
		return result{Error: "parse chain: " + err.Error()}
	}
	rootCerts, err := parseCertificates(c.Roots)
	if err != nil {
		return result{Error: "parse roots: " + err.Error()}
	}
	roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
	for _, cert := range rootCerts {
		roots.AddCert(cert)
	}
	for _, cert := range chain[1:] {
		intermediates.AddCert(cert)
	}
	options := x509.VerifyOptions{Roots: roots, Intermediates: intermediates, DNSName: c.DNSName}
	for _, name := range c.KeyUsages {
		usage, ok := extKeyUsages[name]
		if !ok {
			return result{SetupError: fmt.Sprintf("unknown key usage %q", name)}
		}
		options.KeyUsages = append(options.KeyUsages, usage)
	}
	if _, err := chain[0].Verify(options); err != nil {
		return result{Error: err.Error()}
	}
	return result{OK: true}
}

// ---------------------------------------------------------------------------------------------
// ECK's custom CA Secret
// ---------------------------------------------------------------------------------------------

// eckPrivateKey reads a key by the rules of ECK's ParsePEMPrivateKey
// (cloud-on-k8s pkg/controller/common/certificates/pem.go): an encrypted block is refused,
// "PRIVATE KEY" (PKCS#8) must hold an RSA key, "RSA PRIVATE KEY" is PKCS#1 (no PEM headers),
// "EC PRIVATE KEY" is SEC1; any other block type is refused.
func eckPrivateKey(pemText string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("failed to parse PEM block containing private key")
	}
	switch {
	case x509.IsEncryptedPEMBlock(block): //nolint:staticcheck // ECK makes the same test
		return nil, errors.New("encrypted private key")
	case block.Type == "PRIVATE KEY":
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("failed to parse private key: %w", err)
		}
		rsaKey, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("expected an RSA private key but got %T", key)
		}
		return rsaKey, nil
	case block.Type == "RSA PRIVATE KEY" && len(block.Headers) == 0:
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case block.Type == "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unsupported private key type %q", block.Type)
	}
}

// eckCa reads the Secret as ParseCustomCASecret and ValidateCustomCA do (exactly one
// certificate, the key by eckPrivateKey, inside its validity, key matching), then checks what
// ECK relies on without testing it: a CA certificate allowed to sign. Finally it signs a pod
// certificate as ECK's transport reconciler would (serverAuth+clientAuth, from the CA's key)
// and verifies it against the CA, so the key is proven usable, not only parseable.
func eckCa(c check) result {
	key, err := eckPrivateKey(c.CaKey)
	if err != nil {
		return result{Error: "ca.key: " + err.Error()}
	}
	certs, err := parseCertificates(c.CaCrt)
	if err != nil {
		return result{Error: "ca.crt: " + err.Error()}
	}
	r := result{KeyType: keyType(key)}
	if len(certs) != 1 {
		r.Error = fmt.Sprintf("ca.crt: only expected one PEM formated CA certificate, got %d", len(certs))
		return r
	}
	ca := certs[0]
	r.IsCA = ca.BasicConstraintsValid && ca.IsCA
	r.CertSign = ca.KeyUsage&x509.KeyUsageCertSign != 0
	now := time.Now()
	matches, ok := ca.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	switch {
	case now.Before(ca.NotBefore):
		r.Error = "the CA certificate is not yet valid"
	case now.After(ca.NotAfter):
		r.Error = "the CA certificate has expired"
	case !ok || !matches.Equal(key.Public()):
		r.Error = "the private key does not match the public one"
	case !r.IsCA:
		r.Error = "the certificate is not a CA (basicConstraints cA)"
	case !r.CertSign:
		r.Error = "the CA certificate's key usage lacks certSign"
	}
	if r.Error != "" {
		return r
	}
	if err := signPodCertificate(ca, key); err != nil {
		r.Error = "signing a pod certificate: " + err.Error()
		return r
	}
	r.SignedAndVerified = true
	r.OK = true
	return r
}

func keyType(key crypto.Signer) string {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("rsa-%d", k.N.BitLen())
	case *ecdsa.PrivateKey:
		return "ecdsa-" + k.Curve.Params().Name
	case ed25519.PrivateKey:
		return "ed25519"
	default:
		return fmt.Sprintf("%T", key)
	}
}

// signPodCertificate issues a pod certificate from the CA as ECK's transport reconciler does
// (pkg/controller/elasticsearch/certificates/transport/csr.go): a new key of the CA key's type
// (RSA 2048, or ECDSA on the CA's curve), KU digitalSignature+keyEncipherment, EKU
// serverAuth+clientAuth; then verifies it against the CA for both uses.
func signPodCertificate(ca *x509.Certificate, caKey crypto.Signer) error {
	var podKey crypto.Signer
	var err error
	switch k := caKey.(type) {
	case *rsa.PrivateKey:
		podKey, err = rsa.GenerateKey(rand.Reader, 2048)
	case *ecdsa.PrivateKey:
		podKey, err = ecdsa.GenerateKey(k.Curve, rand.Reader)
	default:
		err = fmt.Errorf("unsupported CA private key type: %T", caKey)
	}
	if err != nil {
		return err
	}
	const name = "es-default-0.node.es.ns.es.local"
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, OrganizationalUnit: []string{"es"}},
		DNSNames:     []string{name},
		NotBefore:    now.Add(-10 * time.Minute),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, podKey.Public(), caKey)
	if err != nil {
		return err
	}
	pod, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		options := x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}}
		if _, err := pod.Verify(options); err != nil {
			return err
		}
	}
	return nil
}
