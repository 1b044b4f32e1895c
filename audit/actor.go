package audit

import (
	"os"
	"os/user"
	"strconv"
)

// LocalActor is the operator at this machine's terminal: the current OS user.
func LocalActor() Actor {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		// Containers often run as a uid with no passwd entry; the uid still
		// says who it was.
		name = "uid " + strconv.Itoa(os.Getuid())
	}
	return Actor{Kind: KindLocal, User: name}
}

// SSHActor is an operator connected over SSH: the user name the client gave,
// the fingerprint of the key the server approved ("SHA256:…", as
// golang.org/x/crypto/ssh.FingerprintSHA256 writes it) and the access role
// that key was granted.
func SSHActor(userName, keyFingerprint, role string) Actor {
	return Actor{Kind: KindSSH, User: userName, KeyFingerprint: keyFingerprint, Role: role}
}
