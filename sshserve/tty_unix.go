//go:build unix

package sshserve

import (
	"fmt"
	"os"
	"syscall"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/x/term"
)

// openTTY returns the terminal side of the session's PTY as a file of the
// session's own. charmbracelet/ssh closes its PTY when the client goes
// away, whether or not the handler is done with it; the program reads,
// restores and measures this duplicate instead, and closes it itself.
func openTTY(pty ssh.Pty) (*os.File, error) {
	if pty.Slave == nil {
		return nil, fmt.Errorf("no terminal allocated")
	}
	syscall.ForkLock.RLock()
	fd, err := syscall.Dup(int(pty.Slave.Fd()))
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	return os.NewFile(uintptr(fd), pty.Slave.Name()), nil
}

// ttySize is the terminal's size in cells.
func ttySize(f *os.File) (int, int, error) { return term.GetSize(f.Fd()) }
