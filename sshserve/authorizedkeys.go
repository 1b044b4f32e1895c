package sshserve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Role is what a key may do. The zero value is no access.
type Role string

// Roles, from least to most privilege. An authorized key without a role is
// a viewer.
const (
	RoleViewer   Role = "viewer"   // sees everything, changes nothing
	RoleOperator Role = "operator" // adds, revokes, sends commands
	RoleAdmin    Role = "admin"    // an operator, for now
)

// RoleEnv is the environment option that names a key's role:
// environment="FLEETDECK_ROLE=operator".
const RoleEnv = "FLEETDECK_ROLE"

// CanMutate reports whether the role may add, revoke and send.
func (r Role) CanMutate() bool { return r == RoleOperator || r == RoleAdmin }

func parseRole(s string) (Role, bool) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleViewer, RoleOperator, RoleAdmin:
		return r, true
	}
	return RoleViewer, false
}

// Key is one authorized key.
type Key struct {
	Fingerprint string // SHA256:…, as ssh-keygen -l prints it
	Role        Role
	Comment     string
	Line        int

	pub     gossh.PublicKey
	from    []string  // from="…" patterns; nil: any address
	expires time.Time // expiry-time="…"; zero: never
}

// PublicKey returns the key.
func (k Key) PublicKey() gossh.PublicKey { return k.pub }

// Permits reports whether the key may log in from addr at now (its from=
// and expiry-time= options).
func (k Key) Permits(addr net.Addr, now time.Time) bool {
	if !k.expires.IsZero() && !now.Before(k.expires) {
		return false
	}
	if k.from == nil {
		return true
	}
	return matchFrom(k.from, addr)
}

// LineError is one authorized_keys line that was skipped, or read with a
// caveat (Skipped false).
type LineError struct {
	Line    int
	Skipped bool
	Err     error
}

func (e LineError) Error() string {
	if e.Skipped {
		return fmt.Sprintf("line %d skipped: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// KeySet is a parsed authorized_keys file. It does not change.
type KeySet struct {
	keys map[string]Key // by fingerprint
}

// Lookup finds pub in the set.
func (s *KeySet) Lookup(pub gossh.PublicKey) (Key, bool) {
	if s == nil || pub == nil {
		return Key{}, false
	}
	k, ok := s.keys[gossh.FingerprintSHA256(pub)]
	if !ok || !bytes.Equal(k.pub.Marshal(), pub.Marshal()) {
		return Key{}, false
	}
	return k, true
}

// Len is the number of keys in the set.
func (s *KeySet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Limits of what ParseAuthorizedKeys reads.
const (
	maxKeysFileSize = 1 << 20
	maxKeyLine      = 64 << 10
)

// ParseAuthorizedKeys reads OpenSSH's authorized_keys format, one key a
// line. Unlike wish's own handler, a line it cannot use is reported and
// skipped, so one bad line does not lock everyone out. A key's role is its
// environment="FLEETDECK_ROLE=…" option; none (or an unknown value) makes it
// a viewer. Options that restrict a key in ways fleetdeck cannot honour
// (command=, no-pty, permitopen=, cert-authority, …) make it skipped:
// ignoring them would grant more than the file says.
func ParseAuthorizedKeys(r io.Reader) (*KeySet, []LineError) {
	set := &KeySet{keys: map[string]Key{}}
	var problems []LineError
	sc := bufio.NewScanner(io.LimitReader(r, maxKeysFileSize+1))
	sc.Buffer(make([]byte, 0, 4096), maxKeyLine)
	n, size := 0, 0
	for sc.Scan() {
		n++
		size += len(sc.Bytes()) + 1
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, caveats, err := parseKeyLine(line)
		for _, c := range caveats {
			problems = append(problems, LineError{Line: n, Err: c})
		}
		if err != nil {
			problems = append(problems, LineError{Line: n, Skipped: true, Err: err})
			continue
		}
		k.Line = n
		if prev, dup := set.keys[k.Fingerprint]; dup {
			// OpenSSH uses the first line that matches.
			problems = append(problems, LineError{Line: n, Skipped: true, Err: fmt.Errorf("key %s already on line %d", k.Fingerprint, prev.Line)})
			continue
		}
		set.keys[k.Fingerprint] = k
	}
	switch err := sc.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		problems = append(problems, LineError{Line: n + 1, Skipped: true, Err: fmt.Errorf("line longer than %d bytes: the rest of the file is not read", maxKeyLine)})
	case err != nil:
		problems = append(problems, LineError{Line: n + 1, Skipped: true, Err: err})
	case size > maxKeysFileSize:
		problems = append(problems, LineError{Line: n, Skipped: true, Err: fmt.Errorf("file larger than %d bytes: the rest is not read", maxKeysFileSize)})
	}
	return set, problems
}

// Options fleetdeck honours or may ignore safely (they restrict what the
// console never offers: forwarding, rc files).
var harmlessOptions = map[string]bool{
	"no-port-forwarding": true, "no-agent-forwarding": true, "no-x11-forwarding": true, "no-user-rc": true,
	"port-forwarding": true, "agent-forwarding": true, "x11-forwarding": true, "user-rc": true,
	"no-touch-required": true, "verify-required": true,
}

func parseKeyLine(line []byte) (Key, []error, error) {
	pub, comment, options, rest, err := gossh.ParseAuthorizedKey(line)
	if err != nil {
		return Key{}, nil, fmt.Errorf("not a public key: %w", err)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return Key{}, nil, errors.New("more than one key on the line")
	}
	if _, ok := pub.(*gossh.Certificate); ok {
		return Key{}, nil, errors.New("certificates are not supported")
	}
	k := Key{Fingerprint: gossh.FingerprintSHA256(pub), Comment: comment, pub: pub, Role: RoleViewer}
	var caveats []error
	roleSet := false
	ptyAllowed := true // sshd reads the options in order: restrict, then pty, allows one
	for _, opt := range options {
		name, value, hasValue := strings.Cut(opt, "=")
		name = strings.ToLower(name)
		if hasValue {
			value = unquote(value)
		}
		switch {
		case name == "environment" && hasValue:
			envName, envValue, _ := strings.Cut(value, "=")
			if envName != RoleEnv {
				continue
			}
			role, ok := parseRole(envValue)
			switch {
			case !ok:
				caveats = append(caveats, fmt.Errorf("unknown role %q (roles: viewer, operator, admin): the key is a viewer", envValue))
				k.Role, roleSet = RoleViewer, true
			case roleSet && role != k.Role:
				caveats = append(caveats, fmt.Errorf("two different roles: the key is a viewer"))
				k.Role = RoleViewer
			default:
				k.Role, roleSet = role, true
			}
		case name == "from" && hasValue:
			pats := strings.Split(value, ",")
			if len(pats) == 0 || value == "" {
				return Key{}, caveats, errors.New(`from="" allows no address`)
			}
			k.from = pats
		case name == "expiry-time" && hasValue:
			t, err := parseExpiry(value)
			if err != nil {
				return Key{}, caveats, fmt.Errorf("expiry-time: %w", err)
			}
			k.expires = t
		case name == "no-pty" || name == "restrict":
			ptyAllowed = false
		case name == "pty":
			ptyAllowed = true
		case harmlessOptions[name] && !hasValue:
		default:
			return Key{}, caveats, fmt.Errorf("option %q is not supported (fleetdeck cannot honour it, so the key is not used)", name)
		}
	}
	if !ptyAllowed {
		return Key{}, caveats, errors.New("no-pty (or restrict without pty): the console needs a terminal")
	}
	return k, caveats, nil
}

// unquote removes the double quotes of an option value; OpenSSH allows \" inside.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	return strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`)
}

// parseExpiry reads YYYYMMDD[HHMM[SS]] in local time, or with a trailing Z in UTC (sshd(8)).
func parseExpiry(v string) (time.Time, error) {
	loc := time.Local
	if s, ok := strings.CutSuffix(v, "Z"); ok {
		v, loc = s, time.UTC
	}
	for _, layout := range []string{"20060102150405", "200601021504", "20060102"} {
		if len(v) == len(layout) {
			return time.ParseInLocation(layout, v, loc)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not YYYYMMDD[HHMM[SS]][Z]", v)
}

// matchFrom applies a from= pattern list to the client's address the way
// sshd does for addresses (no DNS): a matching negated pattern denies, else
// any matching pattern allows. Patterns are wildcards (* and ?) or CIDR.
func matchFrom(pats []string, addr net.Addr) bool {
	ip := addrIP(addr)
	if ip == nil {
		return false
	}
	host := ip.String()
	allowed := false
	for _, p := range pats {
		p = strings.TrimSpace(p)
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		var ok bool
		if _, cidr, err := net.ParseCIDR(p); err == nil {
			ok = cidr.Contains(ip)
		} else {
			ok, _ = path.Match(strings.ToLower(p), host)
		}
		if ok && neg {
			return false
		}
		allowed = allowed || ok
	}
	return allowed
}

func addrIP(addr net.Addr) net.IP {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP
	case nil:
		return nil
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil
	}
	return net.ParseIP(host)
}

// AuthorizedKeys is an authorized_keys file that is read again whenever it
// changes: every lookup compares the file's size, time and inode with the
// last read, so an added or removed key counts from the next login, without
// a restart.
type AuthorizedKeys struct {
	path string
	log  *slog.Logger

	mu    sync.Mutex
	stamp fileStamp
	set   *KeySet
}

type fileStamp struct {
	size        int64
	mtime       int64
	ino, dev    uint64
	mode        os.FileMode
	missing     bool
	initialized bool
}

// LoadAuthorizedKeys reads path once; a file that cannot be read is an
// error now (a typo should not start a server nobody can enter), but later
// the server keeps running and lets nobody in until the file is back.
func LoadAuthorizedKeys(path string, log *slog.Logger) (*AuthorizedKeys, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &AuthorizedKeys{path: path, log: log}
	if err := a.reload(true); err != nil {
		return nil, err
	}
	return a, nil
}

// Path is the file's path.
func (a *AuthorizedKeys) Path() string { return a.path }

// Lookup finds pub in the current file.
func (a *AuthorizedKeys) Lookup(pub gossh.PublicKey) (Key, bool) {
	return a.Current().Lookup(pub)
}

// Current returns the key set of the file as it is now.
func (a *AuthorizedKeys) Current() *KeySet {
	if err := a.reload(false); err != nil {
		a.log.Error("authorized keys: nobody can log in until the file is fixed", "path", a.path, "err", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.set
}

func stampOf(fi os.FileInfo) fileStamp {
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: fi.Mode(), initialized: true}
	// The inode tells an editor's rename over the file from an edit in place.
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino, st.dev = uint64(sys.Ino), uint64(sys.Dev)
	}
	return st
}

// reload reads the file again when its stamp changed. On failure the set
// becomes empty: a file that vanished or became unsafe lets nobody in.
func (a *AuthorizedKeys) reload(first bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	fi, err := os.Stat(a.path)
	if err != nil {
		if a.stamp.missing {
			return nil // already reported
		}
		a.set, a.stamp = &KeySet{}, fileStamp{missing: true, initialized: true}
		return fmt.Errorf("authorized keys %s: %w", a.path, err)
	}
	st := stampOf(fi)
	if a.stamp == st {
		return nil
	}
	a.stamp = st
	set, err := a.read(fi)
	if err != nil {
		a.set = &KeySet{}
		return err
	}
	a.set = set
	if !first {
		a.log.Info("authorized keys read again", "path", a.path, "keys", set.Len())
	}
	return nil
}

func (a *AuthorizedKeys) read(fi os.FileInfo) (*KeySet, error) {
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("authorized keys %s: not a regular file", a.path)
	}
	// sshd's StrictModes: a file others may write is a file others may
	// add their key to.
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("authorized keys %s: writable by group or others (mode %04o): chmod go-w %s", a.path, fi.Mode().Perm(), a.path)
	}
	f, err := os.Open(a.path)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	defer f.Close()
	set, problems := ParseAuthorizedKeys(f)
	for _, p := range problems {
		if p.Skipped {
			a.log.Warn("authorized keys: line skipped", "path", a.path, "line", p.Line, "err", p.Err)
		} else {
			a.log.Warn("authorized keys", "path", a.path, "line", p.Line, "err", p.Err)
		}
	}
	return set, nil
}
