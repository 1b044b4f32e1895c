package config

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// ServiceAccount is High Mobility's service-account credential, as the
// console hands it out:
//
//	{"inserted_at":"2020-06-22T09:38:09","private_key":"-----BEGIN PRIVATE KEY-----\n…","id":"f6c331c4-…"}
//
// String, GoString and LogValue show the id only, so the key cannot end up
// in a log or an error by accident.
type ServiceAccount struct {
	ID         string
	PrivateKey *ecdsa.PrivateKey // P-256, for ES256
	InsertedAt string            // verbatim from the file
}

func (sa *ServiceAccount) String() string {
	if sa == nil {
		return "service account <nil>"
	}
	return "service account " + sa.ID
}

func (sa *ServiceAccount) GoString() string { return sa.String() }

func (sa *ServiceAccount) LogValue() slog.Value {
	if sa == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("id", sa.ID), slog.String("inserted_at", sa.InsertedAt))
}

// LoadServiceAccount reads a service-account JSON file; like every secret
// file it must be 0600.
func LoadServiceAccount(path string) (*ServiceAccount, error) {
	data, err := readSecret(path)
	if err != nil {
		return nil, fmt.Errorf("service account: %w", err)
	}
	sa, err := ParseServiceAccount(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", absOrSame(path), err)
	}
	return sa, nil
}

// ParseServiceAccount parses the JSON. The PEM may carry real newlines or
// the two characters `\n` (a double-escaped copy-paste). The key must be an
// EC P-256 key in PKCS#8 (SEC 1 "EC PRIVATE KEY" is accepted too). Errors
// never quote the file's content.
func ParseServiceAccount(data []byte) (*ServiceAccount, error) {
	k, err := parseKeyJSON(data, "service account")
	if err != nil {
		return nil, err
	}
	return &ServiceAccount{ID: k.id, PrivateKey: k.key, InsertedAt: k.insertedAt}, nil
}

// OAuthKey is the private key High Mobility's console hands out for an
// OAuth2 client (the app's OAuth section: "create private key"), the same
// {"id", "private_key"} JSON as a service account. It signs the
// client_assertion of POST /access_tokens; id is the assertion's iss.
// String, GoString and LogValue show the id only.
type OAuthKey struct {
	ID         string
	PrivateKey *ecdsa.PrivateKey // P-256, for ES256
}

func (k *OAuthKey) String() string {
	if k == nil {
		return "OAuth2 private key <nil>"
	}
	return "OAuth2 private key " + k.ID
}

func (k *OAuthKey) GoString() string { return k.String() }

func (k *OAuthKey) LogValue() slog.Value {
	if k == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("id", k.ID))
}

// LoadOAuthKey reads an OAuth2 private key JSON file; like every secret file
// it must be 0600.
func LoadOAuthKey(path string) (*OAuthKey, error) {
	data, err := readSecret(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	k, err := parseKeyJSON(data, "private key")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", absOrSame(path), err)
	}
	return &OAuthKey{ID: k.id, PrivateKey: k.key}, nil
}

type keyJSON struct {
	id, insertedAt string
	key            *ecdsa.PrivateKey
}

// parseKeyJSON reads {"id", "private_key", "inserted_at"?}; what names the
// file in errors ("service account", "private key").
func parseKeyJSON(data []byte, what string) (keyJSON, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // BOM from some editors
	var raw struct {
		ID         string `json:"id"`
		PrivateKey string `json:"private_key"`
		InsertedAt string `json:"inserted_at"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return keyJSON{}, fmt.Errorf("%s: not valid JSON (at byte %d); expected the file the console hands out, with id and private_key", what, se.Offset)
		case errors.As(err, &te):
			return keyJSON{}, fmt.Errorf("%s: field %q must be a %s", what, te.Field, te.Type)
		}
		return keyJSON{}, fmt.Errorf("%s: not valid JSON; expected the file the console hands out, with id and private_key", what)
	}
	if strings.TrimSpace(raw.ID) == "" {
		return keyJSON{}, fmt.Errorf("%s: id is missing", what)
	}
	if raw.PrivateKey == "" {
		return keyJSON{}, fmt.Errorf("%s: private_key is missing", what)
	}
	key, err := parseP256(raw.PrivateKey)
	if err != nil {
		return keyJSON{}, fmt.Errorf("%s %s: private_key: %w", what, termsafe.String(strings.TrimSpace(raw.ID)), err)
	}
	return keyJSON{id: strings.TrimSpace(raw.ID), key: key, insertedAt: raw.InsertedAt}, nil
}

func parseP256(s string) (*ecdsa.PrivateKey, error) {
	s = strings.ReplaceAll(s, `\r`, "")
	s = strings.ReplaceAll(s, `\n`, "\n")
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("not a PEM block (expected -----BEGIN PRIVATE KEY-----)")
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			// The parser's message is about ASN.1 structure, never the bytes,
			// but there is nothing in it an operator could act on.
			return nil, errors.New("PEM block is not a valid PKCS#8 private key")
		}
		key = k
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("PEM block is not a valid EC private key")
		}
		key = k
	case "RSA PRIVATE KEY":
		return nil, errors.New("an RSA key: ES256 needs an EC P-256 key")
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("an EC key on curve %s: ES256 needs P-256", k.Curve.Params().Name)
		}
		return k, nil
	case *rsa.PrivateKey:
		return nil, errors.New("an RSA key: ES256 needs an EC P-256 key")
	case ed25519.PrivateKey:
		return nil, errors.New("an Ed25519 key: ES256 needs an EC P-256 key")
	default:
		return nil, fmt.Errorf("a %T key: ES256 needs an EC P-256 key", key)
	}
}
