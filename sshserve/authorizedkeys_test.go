package sshserve

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/fleetdeck/fleetdeck/internal/testlog"
)

func TestParseAuthorizedKeys(t *testing.T) {
	t.Parallel()
	op, view, adm, odd, cmd, nopty, restricted, restrictedPty, dup, from, expired := newSigner(t), newSigner(t), newSigner(t),
		newSigner(t), newSigner(t), newSigner(t), newSigner(t), newSigner(t), newSigner(t), newSigner(t), newSigner(t)
	file := strings.Join([]string{
		"# comment",
		"",
		authLine(op, `environment="FLEETDECK_ROLE=operator",no-agent-forwarding`, "alice"), // 3
		authLine(view, `environment="LANG=C"`, "bob"),                                      // 4
		authLine(adm, `environment="FLEETDECK_ROLE=Admin"`, "carol"),                       // 5
		authLine(odd, `environment="FLEETDECK_ROLE=root"`, "dave"),                         // 6
		authLine(cmd, `command="/bin/sh -c 'evil'"`, "eve"),                                // 7
		authLine(nopty, `no-pty`, "frank"),                                                 // 8
		authLine(restricted, `restrict`, "grace"),                                          // 9
		authLine(restrictedPty, `restrict,pty`, "heidi"),                                   // 10
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBROKEN mallory",                              // 11
		authLine(dup, "", "first"),                                                         // 12
		authLine(dup, `environment="FLEETDECK_ROLE=operator"`, "second"),                   // 13
		authLine(from, `from="10.0.0.0/8,!10.1.2.3,127.0.0.*"`, "ivan"),                    // 14
		authLine(expired, `expiry-time="20200101"`, "judy"),                                // 15
		authLine(op, "", "alice-again") + " trailing",                                      // 16: a duplicate too
	}, "\n")
	set, problems := ParseAuthorizedKeys(strings.NewReader(file))

	for _, c := range []struct {
		name string
		key  gossh.Signer
		want Role
	}{
		{"operator", op, RoleOperator}, {"no role", view, RoleViewer}, {"Admin", adm, RoleAdmin},
		{"unknown role", odd, RoleViewer}, {"restrict,pty", restrictedPty, RoleViewer}, {"duplicate", dup, RoleViewer},
	} {
		k, ok := set.Lookup(c.key.PublicKey())
		if !ok || k.Role != c.want {
			t.Errorf("%s: found %v, role %q, want %q", c.name, ok, k.Role, c.want)
		}
	}
	if k, _ := set.Lookup(dup.PublicKey()); k.Line != 12 || k.Comment != "first" {
		t.Errorf("a key on two lines: the first should count, got line %d %q", k.Line, k.Comment)
	}
	for _, gone := range []struct {
		name string
		ok   bool
	}{
		{"command=", lookupOK(set, cmd)},
		{"no-pty", lookupOK(set, nopty)},
		{"restrict", lookupOK(set, restricted)},
	} {
		if gone.ok {
			t.Errorf("a key with %s was accepted: it would get more than the file grants", gone.name)
		}
	}
	if set.Len() != 8 {
		t.Errorf("%d keys, want 8", set.Len())
	}

	byLine := map[int]LineError{}
	for _, p := range problems {
		byLine[p.Line] = p
	}
	for line, want := range map[int]string{
		6: `unknown role "root"`, 7: `option "command"`, 8: "no-pty", 9: "no-pty", 11: "not a public key",
		13: "already on line 12", 16: "already on line 3",
	} {
		p, ok := byLine[line]
		if !ok || !strings.Contains(p.Error(), want) {
			t.Errorf("line %d: reported %v, want %q", line, p, want)
		}
	}
	if p := byLine[6]; p.Skipped {
		t.Error("an unknown role should make a viewer, not skip the key")
	}
	if _, ok := byLine[3]; ok {
		t.Errorf("line 3 reported: %v", byLine[3])
	}

	// from= and expiry-time= are honoured.
	k, ok := set.Lookup(from.PublicKey())
	if !ok {
		t.Fatal("the from= key is missing")
	}
	now := time.Now()
	for addr, want := range map[string]bool{"10.9.9.9": true, "10.1.2.3": false, "127.0.0.1": true, "192.168.1.1": false} {
		if got := k.Permits(&net.TCPAddr{IP: net.ParseIP(addr), Port: 22}, now); got != want {
			t.Errorf("from= %s: %v, want %v", addr, got, want)
		}
	}
	k, _ = set.Lookup(expired.PublicKey())
	if k.Permits(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, now) {
		t.Error("an expired key is permitted")
	}
	if !k.Permits(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, time.Date(2019, 6, 1, 0, 0, 0, 0, time.Local)) {
		t.Error("a key before its expiry is refused")
	}
	if _, ok := set.Lookup(newSigner(t).PublicKey()); ok {
		t.Error("an unknown key was found")
	}
}

func lookupOK(set *KeySet, s gossh.Signer) bool {
	_, ok := set.Lookup(s.PublicKey())
	return ok
}

func TestAuthorizedKeysFileSafety(t *testing.T) {
	t.Parallel()
	op := newSigner(t)
	path := filepath.Join(t.TempDir(), "authorized_keys")
	writeKeys(t, path, authLine(op, "", "alice"))
	if err := os.Chmod(path, 0o664); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAuthorizedKeys(path, nil); err == nil || !strings.Contains(err.Error(), "chmod go-w") {
		t.Errorf("a group-writable file: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAuthorizedKeys(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Error("a missing file at start is not an error")
	}

	log := &testlog.Buffer{}
	keys, err := LoadAuthorizedKeys(path, log.Logger())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := keys.Lookup(op.PublicKey()); !ok {
		t.Fatal("the key is not found")
	}
	// Made unsafe, or removed, while serving: nobody gets in, and it says so.
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, ok := keys.Lookup(op.PublicKey()); ok {
		t.Error("a world-writable file still lets keys in")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, ok := keys.Lookup(op.PublicKey()); ok {
		t.Error("a removed file still lets keys in")
	}
	if !strings.Contains(log.String(), "nobody can log in") {
		t.Errorf("not logged:\n%s", log.String())
	}
	writeKeys(t, path, authLine(op, `environment="FLEETDECK_ROLE=operator"`, "alice"))
	if k, ok := keys.Lookup(op.PublicKey()); !ok || k.Role != RoleOperator {
		t.Errorf("the file is back: %v %q", ok, k.Role)
	}
}
