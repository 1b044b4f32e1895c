//go:build !unix

package sshserve

import (
	"errors"
	"os"

	"github.com/charmbracelet/ssh"
)

// openTTY: the console over SSH needs a Unix PTY.
func openTTY(ssh.Pty) (*os.File, error) {
	return nil, errors.New("the console over SSH needs a Unix PTY")
}

func ttySize(*os.File) (int, int, error) { return 0, 0, errors.New("no terminal") }
