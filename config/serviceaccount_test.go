package config

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

const saID = "f6c331c4-9271-4e3b-a8c4-6a2cacac6451"

func pkcs8PEM(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func saJSON(t *testing.T, privateKey string) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]string{"inserted_at": "2020-06-22T09:38:09", "private_key": privateKey, "id": saID})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// pemBody returns a line of the key's base64, to check errors never carry it.
func pemBody(p string) string {
	return strings.Split(p, "\n")[1]
}

func TestParseServiceAccount(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := pkcs8PEM(t, p256)
	sec1DER, err := x509.MarshalECPrivateKey(p256)
	if err != nil {
		t.Fatal(err)
	}
	sec1 := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER}))

	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaPKCS1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))

	for _, tc := range []struct {
		name    string
		data    []byte
		wantErr string
		secret  string // must not appear in the error
	}{
		{name: "real newlines", data: saJSON(t, good)},
		{name: "literal backslash-n", data: saJSON(t, strings.ReplaceAll(good, "\n", `\n`))},
		{name: "literal backslash-r-backslash-n", data: saJSON(t, strings.ReplaceAll(good, "\n", `\r\n`))},
		{name: "CRLF", data: saJSON(t, strings.ReplaceAll(good, "\n", "\r\n"))},
		{name: "surrounding whitespace", data: saJSON(t, "\n  "+good+"  \n")},
		{name: "console's exact shape", data: []byte(`{"inserted_at":"2020-06-22T09:38:09","private_key":"` +
			strings.ReplaceAll(strings.TrimSpace(good), "\n", `\n`) + `","id":"` + saID + `"}`)},
		{name: "BOM and trailing newline", data: append(append([]byte("\xef\xbb\xbf"), saJSON(t, good)...), '\n')},
		{name: "SEC1 EC key", data: saJSON(t, sec1)},
		{name: "P-384", data: saJSON(t, pkcs8PEM(t, p384)), wantErr: "an EC key on curve P-384: ES256 needs P-256", secret: pemBody(pkcs8PEM(t, p384))},
		{name: "RSA PKCS#8", data: saJSON(t, pkcs8PEM(t, rsaKey)), wantErr: "an RSA key: ES256 needs an EC P-256 key", secret: pemBody(pkcs8PEM(t, rsaKey))},
		{name: "RSA PKCS#1", data: saJSON(t, rsaPKCS1), wantErr: "an RSA key", secret: pemBody(rsaPKCS1)},
		{name: "Ed25519", data: saJSON(t, pkcs8PEM(t, edKey)), wantErr: "an Ed25519 key", secret: pemBody(pkcs8PEM(t, edKey))},
		{name: "garbage", data: []byte("not json at all, -----BEGIN PRIVATE KEY----- abc"), wantErr: "service account: not valid JSON (at byte 2)", secret: "abc"},
		{name: "empty", data: nil, wantErr: "not valid JSON"},
		{name: "wrong type", data: []byte(`{"id": 5, "private_key": "x"}`), wantErr: `field "id" must be a string`},
		{name: "missing id", data: []byte(`{"private_key":"x"}`), wantErr: "service account: id is missing"},
		{name: "missing key", data: []byte(`{"id":"` + saID + `"}`), wantErr: "service account: private_key is missing"},
		{name: "not PEM", data: saJSON(t, "MHcCAQEEIGarbageBase64"), wantErr: "service account " + saID + ": private_key: not a PEM block", secret: "MHcCAQEEIGarbageBase64"},
		{name: "PEM with garbage body", data: saJSON(t, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n"),
			wantErr: "PEM block is not a valid PKCS#8 private key", secret: "c2VjcmV0LWJ5dGVz"},
		{name: "certificate instead of key", data: saJSON(t, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
			wantErr: `PEM block "CERTIFICATE" is not a private key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sa, err := ParseServiceAccount(tc.data)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if sa.ID != saID || sa.InsertedAt != "2020-06-22T09:38:09" || !sa.PrivateKey.Equal(p256) {
					t.Errorf("got id %q inserted_at %q, key equal %v", sa.ID, sa.InsertedAt, sa.PrivateKey.Equal(p256))
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error carries key material: %q", err)
			}
		})
	}
}

func TestServiceAccountNeverPrintsKey(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sa, err := ParseServiceAccount(saJSON(t, pkcs8PEM(t, key)))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("loaded", "sa", sa)
	d := key.D.String()
	for _, out := range []string{fmt.Sprint(sa), fmt.Sprintf("%v %+v %#v %s", sa, sa, sa, sa), logged.String()} {
		if strings.Contains(out, d) || strings.Contains(out, "PRIVATE") || !strings.Contains(out, saID) {
			t.Errorf("output %q leaks the key or lacks the id", out)
		}
	}
}

func TestLoadServiceAccount(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	data := string(saJSON(t, pkcs8PEM(t, key)))
	dir := t.TempDir()

	ok := writeFile(t, filepath.Join(dir, "sa.json"), data, 0o600)
	sa, err := LoadServiceAccount(ok)
	if err != nil || sa.ID != saID || !sa.PrivateKey.Equal(key) {
		t.Fatalf("got %v, %v", sa, err)
	}

	open := writeFile(t, filepath.Join(dir, "open.json"), data, 0o644)
	_, err = LoadServiceAccount(open)
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+open) || !strings.Contains(err.Error(), "service account: ") {
		t.Errorf("0644: %v", err)
	}

	bad := writeFile(t, filepath.Join(dir, "bad.json"), `{"id":"x","private_key":"nope"}`, 0o600)
	_, err = LoadServiceAccount(bad)
	if err == nil || !strings.Contains(err.Error(), bad+": service account x: private_key: not a PEM block") {
		t.Errorf("bad: %v", err)
	}

	if _, err := LoadServiceAccount(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing: %v", err)
	}
}

// The OAuth2 private key has the service account's shape; its errors say
// "private key" and never quote the key, and it must be 0600.
func TestLoadOAuthKey(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "oauth-key.json")
	writeFile(t, path, string(saJSON(t, pkcs8PEM(t, key))), 0o600)
	k, err := LoadOAuthKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k.PrivateKey.Equal(key) || k.ID == "" {
		t.Errorf("key %v", k)
	}
	for _, s := range []string{k.String(), fmt.Sprintf("%v %+v %#v", k, k, k)} {
		if strings.Contains(s, "PRIVATE") || strings.Contains(s, key.D.String()) {
			t.Errorf("key printed: %s", s)
		}
	}
	writeFile(t, path, `{"id":"x","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}`, 0o600)
	if _, err := LoadOAuthKey(path); err == nil || !strings.Contains(err.Error(), "private key x: private_key:") || strings.Contains(err.Error(), "AAAA") {
		t.Errorf("bad key: %v", err)
	}
	writeFile(t, path, string(saJSON(t, pkcs8PEM(t, key))), 0o644)
	if _, err := LoadOAuthKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("0644: %v", err)
	}
}
