package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/fleetdeck/fleetdeck/config"
)

// Each entry's hash is signed, rather than a checkpoint now and then: an
// Ed25519 signature costs tens of microseconds against the milliseconds of
// the fsync every append already pays, and a signed entry protects itself
// and, through its prev_hash, every entry before it, so nothing is left
// unprotected between checkpoints.

// sigDomain separates these signatures from any other use of the key.
const sigDomain = "fleetdeck-audit-sig/1\n"

// Signer signs the entries one process appends. The key lives in a file
// apart from the journal (0600; `serve` keeps it beside its host key), so
// that someone who can write the database cannot sign.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner signs with key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, id: KeyID(key.Public().(ed25519.PublicKey))}
}

// ID is the fingerprint of the signer's public key.
func (s *Signer) ID() string { return s.id }

// Public is the key Verify needs.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

func (s *Signer) sign(r *row) {
	if s == nil {
		return
	}
	r.signer = s.id
	r.sig = base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, []byte(sigDomain+r.hash)))
}

// KeyID is a public key's fingerprint as entries name their signer:
// "SHA256:" and the unpadded base64 of the key's SHA-256, as OpenSSH
// writes fingerprints.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// checkSig reports whether r is signed by pub.
func checkSig(r row, pub ed25519.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(r.sig)
	return err == nil && ed25519.Verify(pub, []byte(sigDomain+r.hash), sig)
}

// PublicKeyPath is where LoadOrCreateKey writes the public half of the key
// at path.
func PublicKeyPath(path string) string { return path + ".pub" }

// LoadOrCreateKey reads the Ed25519 signing key at path (PKCS#8 PEM, 0600 or
// refused), or generates one there (0600) when none exists, with its public
// half beside it (path.pub) for whoever verifies elsewhere.
func LoadOrCreateKey(path string) (*Signer, error) {
	if path == "" {
		return nil, errors.New("audit signing key: no file named")
	}
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	data, err := config.ReadSecretFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	key, err := parsePrivate([]byte(data))
	if err != nil {
		return nil, fmt.Errorf("audit signing key %s: %w", path, err)
	}
	return NewSigner(key), nil
}

func createKey(path string) (*Signer, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate the audit signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("generate the audit signing key: %w", err)
	}
	// Written aside and linked into place: two processes making the key at
	// once must not each sign with a key the other then replaces.
	tmp := path + ".new-" + rand.Text()
	if err := config.WriteSecretFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, fmt.Errorf("save the audit signing key: %w", err)
	}
	err = os.Link(tmp, path)
	os.Remove(tmp)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(path) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("save the audit signing key: %w", err)
	}
	s := NewSigner(key)
	pubDER, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return nil, fmt.Errorf("save the audit public key: %w", err)
	}
	// Public: whoever verifies may read it.
	if err := os.WriteFile(PublicKeyPath(path), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, fmt.Errorf("save the audit public key: %w", err)
	}
	return s, nil
}

func parsePrivate(data []byte) (ed25519.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM PRIVATE KEY")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS#8 key: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return ek, nil
}

// maxKeyFile bounds a key file read for verification.
const maxKeyFile = 16 << 10

// ReadVerifyKey reads the key to verify against: a public key (PEM PUBLIC
// KEY, as LoadOrCreateKey writes path.pub) or the signing key itself (then
// held to the 0600 rule like any secret).
func ReadVerifyKey(path string) (ed25519.PublicKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxKeyFile {
		return nil, fmt.Errorf("audit key %s: not a key file", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	b, _ := pem.Decode(data)
	switch {
	case b != nil && b.Type == "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("audit key %s: %w", path, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("audit key %s: not an Ed25519 key", path)
		}
		return pub, nil
	case b != nil && b.Type == "PRIVATE KEY":
		s, err := LoadOrCreateKey(path) // the 0600 check
		if err != nil {
			return nil, err
		}
		return s.Public(), nil
	}
	return nil, fmt.Errorf("audit key %s: want a PEM PUBLIC KEY (the .pub beside the signing key) or the signing key", path)
}
