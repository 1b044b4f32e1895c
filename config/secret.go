package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// maxSecretSize bounds a secret file; a service-account JSON is under 1 KiB.
const maxSecretSize = 64 << 10

// ReadSecretFile returns the content of a secret file without its trailing
// newline. Like ssh with a private key, it refuses a file that group or others
// may access, and says how to fix it. Errors name the file, never its content.
func ReadSecretFile(path string) (string, error) {
	data, err := readSecret(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(data), "\r\n\t ")
	if s == "" {
		return "", fmt.Errorf("%s: is empty", absOrSame(path))
	}
	return s, nil
}

func readSecret(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no file named")
	}
	abs := absOrSame(path)
	// O_NONBLOCK: opening a FIFO put where a secret should be must not hang.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file", abs)
		}
		return nil, fmt.Errorf("open %s: %w", abs, unwrapPath(err))
	}
	defer f.Close()
	// Stat the open file, not the path, so the file checked is the file read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", abs, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: is not a regular file", abs)
	}
	// Windows has no such permission bits (Go reports 0666); ACLs are its business.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%s: permissions %04o are too open (group or others may read this secret); run: chmod 600 %s", abs, perm, abs)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", abs, unwrapPath(err))
	}
	if len(data) > maxSecretSize {
		return nil, fmt.Errorf("%s: larger than %d KiB; is this the right file?", abs, maxSecretSize>>10)
	}
	return data, nil
}

// WriteSecretFile replaces path with data, mode 0600. It writes a temporary
// file beside the target and renames it over, so a reader never sees half a
// secret, and the result is 0600 even when the target existed with looser
// permissions (os.WriteFile would keep them). The parent directory is
// created 0700 when missing.
func WriteSecretFile(path string, data []byte) (err error) {
	if path == "" {
		return errors.New("write secret: no file named")
	}
	abs := absOrSame(path)
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write secret %s: %w", abs, unwrapPath(err))
	}
	if fi, err := os.Lstat(abs); err == nil && fi.IsDir() {
		return fmt.Errorf("write secret %s: is a directory", abs)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write secret %s: %w", abs, unwrapPath(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp asks for 0600 but the umask could take more away; be exact.
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write secret %s: %w", abs, unwrapPath(err))
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write secret %s: %w", abs, unwrapPath(err))
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write secret %s: sync: %w", abs, unwrapPath(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write secret %s: %w", abs, unwrapPath(err))
	}
	if err := os.Rename(tmp.Name(), abs); err != nil {
		return fmt.Errorf("write secret %s: %w", abs, unwrapPath(err))
	}
	// Persist the rename too: a token shown once must survive a crash.
	// Best effort: not every filesystem lets a directory be synced.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func absOrSame(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// unwrapPath drops the *PathError wrapper, whose path the message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
