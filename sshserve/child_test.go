package sshserve

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Measurements that read a server's own CPU, memory or descriptors run it
// in a child process: the test binary again, running one test (a server
// that serves until its stdin closes), with the environment given.

// childReady is the line a child prints once it listens.
const childReady = "SSH-CHILD-READY "

// announce tells the parent where the child's server listens.
func announce(addr string, hostKey gossh.PublicKey) {
	fmt.Printf("%s%s %s\n", childReady, addr, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(hostKey))))
}

// waitStdinEOF returns a channel closed when the parent closes the child's
// stdin (or goes away).
func waitStdinEOF() <-chan struct{} {
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		_, _ = io.Copy(io.Discard, os.Stdin)
	}()
	return eof
}

// child is a server running in a child process.
type child struct {
	*running
	pid int
	out *bufio.Scanner // the child's stdout after its ready line
}

// startChild runs the test named test in a child process with env, waits
// for it to listen, and stops it at cleanup (closing its stdin; killing it
// if it lingers).
func startChild(t *testing.T, test string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(stdout)
	var addr, hostLine string
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), childReady); ok {
			addr, hostLine, _ = strings.Cut(rest, " ")
			break
		}
	}
	if addr == "" {
		t.Fatalf("the child (%s) never became ready", test)
	}
	hostKey, _, _, _, err := gossh.ParseAuthorizedKey([]byte(hostLine))
	if err != nil {
		t.Fatal(err)
	}
	return &child{running: &running{addr: addr, hostKey: hostKey}, pid: cmd.Process.Pid, out: sc}
}
