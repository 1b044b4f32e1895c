package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox/internal/privatefile"
)

// File names written to Options.Dir. The client files are what the
// fleetdeck config points at (ca_file, cert_file, key_file); the server
// files let an external broker (mosquitto in tests) serve the same chain.
const (
	CAFile         = "ca.pem"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server-key.pem"
	ClientCertFile = "client.pem"
	ClientKeyFile  = "client-key.pem"
)

// certLifetime is long enough for a sandbox directory kept between runs
// to stay usable for a while; certificates are regenerated at every Start.
const certLifetime = 90 * 24 * time.Hour

// pki is the certificate material of one broker, kept across Restart.
type pki struct {
	server   tls.Certificate
	caPool   *x509.CertPool
	clientID string // common name of the client certificate
}

// issued is one certificate with its key, in PEM.
type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

func (i issued) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.der})
}

func (i issued) keyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(i.key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// generatePKI creates a CA, a server certificate for loopback and a client
// certificate, and writes them to dir (0600). Nothing is reused from an
// earlier run: a stale key left in the directory must not stay trusted.
func generatePKI(dir string, now time.Time) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create certificate directory: %w", err)
	}
	ca, err := issue(now, nil, func(t *x509.Certificate) {
		t.Subject = pkix.Name{Organization: []string{"fleetdeck sandbox"}, CommonName: "fleetdeck sandbox MQTT CA"}
		t.IsCA = true
		t.BasicConstraintsValid = true
		t.MaxPathLenZero = true
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	})
	if err != nil {
		return nil, fmt.Errorf("issue CA certificate: %w", err)
	}
	server, err := issue(now, &ca, func(t *x509.Certificate) {
		t.Subject = pkix.Name{Organization: []string{"fleetdeck sandbox"}, CommonName: "localhost"}
		t.DNSNames = []string{"localhost"}
		t.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		t.KeyUsage = x509.KeyUsageDigitalSignature
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}
	var idBytes [8]byte
	if _, err := rand.Read(idBytes[:]); err != nil {
		return nil, fmt.Errorf("client certificate id: %w", err)
	}
	clientID := "fleetdeck-sandbox-" + hex.EncodeToString(idBytes[:])
	client, err := issue(now, &ca, func(t *x509.Certificate) {
		t.Subject = pkix.Name{Organization: []string{"fleetdeck sandbox"}, CommonName: clientID}
		t.KeyUsage = x509.KeyUsageDigitalSignature
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	if err != nil {
		return nil, fmt.Errorf("issue client certificate: %w", err)
	}

	serverKey, err := server.keyPEM()
	if err != nil {
		return nil, err
	}
	clientKey, err := client.keyPEM()
	if err != nil {
		return nil, err
	}
	files := []struct {
		name string
		data []byte
	}{
		{CAFile, ca.certPEM()},
		{ServerCertFile, server.certPEM()},
		{ServerKeyFile, serverKey},
		{ClientCertFile, client.certPEM()},
		{ClientKeyFile, clientKey},
	}
	for _, f := range files {
		if err := privatefile.Write(filepath.Join(dir, f.name), f.data); err != nil {
			return nil, err
		}
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return &pki{
		server: tls.Certificate{
			Certificate: [][]byte{server.der},
			PrivateKey:  server.key,
			Leaf:        server.cert,
		},
		caPool:   pool,
		clientID: clientID,
	}, nil
}

// issue creates a P-256 key and a certificate for it, signed by parent
// (self-signed when parent is nil).
func issue(now time.Time, parent *issued, shape func(*x509.Certificate)) (issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return issued{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return issued{}, fmt.Errorf("serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// Backdated a little so a clock a few minutes off still accepts it.
		NotBefore: now.Add(-time.Hour),
		NotAfter:  now.Add(certLifetime),
	}
	shape(tmpl)
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return issued{}, fmt.Errorf("create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return issued{}, fmt.Errorf("parse certificate: %w", err)
	}
	return issued{cert: cert, key: key, der: der}, nil
}
