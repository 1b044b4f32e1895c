package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSecretFile(t *testing.T) {
	const content = "tok-123"
	for _, tc := range []struct {
		name    string
		data    string
		mode    os.FileMode
		want    string
		wantErr []string // "PATH" is replaced by the absolute path
	}{
		{name: "0600", data: content + "\n", mode: 0o600, want: content},
		{name: "0400", data: content, mode: 0o400, want: content},
		{name: "trailing crlf and spaces", data: content + " \r\n\r\n", mode: 0o600, want: content},
		{name: "leading space kept", data: " " + content + "\n", mode: 0o600, want: " " + content},
		{name: "inner newline kept", data: "a\nb\n", mode: 0o600, want: "a\nb"},
		{name: "0644", data: content, mode: 0o644, wantErr: []string{"PATH: permissions 0644 are too open", "run: chmod 600 PATH"}},
		{name: "0604", data: content, mode: 0o604, wantErr: []string{"permissions 0604 are too open", "chmod 600 PATH"}},
		{name: "0660", data: content, mode: 0o660, wantErr: []string{"permissions 0660 are too open", "chmod 600 PATH"}},
		{name: "0700 ok", data: content, mode: 0o700, want: content},
		{name: "0710", data: content, mode: 0o710, wantErr: []string{"permissions 0710 are too open"}},
		{name: "empty", data: "", mode: 0o600, wantErr: []string{"PATH: is empty"}},
		{name: "only newline", data: "\r\n", mode: 0o600, wantErr: []string{"PATH: is empty"}},
		{name: "too large", data: strings.Repeat("x", maxSecretSize+1), mode: 0o600, wantErr: []string{"PATH: larger than 64 KiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(t.TempDir(), "secret"), tc.data, tc.mode)
			got, err := ReadSecretFile(path)
			if tc.wantErr == nil {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error")
			}
			for _, w := range tc.wantErr {
				w = strings.ReplaceAll(w, "PATH", path)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), content) {
				t.Errorf("error leaks the content: %q", err)
			}
		})
	}
}

func TestReadSecretFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadSecretFile(dir); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if _, err := ReadSecretFile(filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nope")+": no such file") {
		t.Errorf("missing: %v", err)
	}
	if _, err := ReadSecretFile(""); err == nil {
		t.Error("empty path accepted")
	}
}

func TestReadSecretFileRelativePathNamedAbsolute(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "s"), "x", 0o644)
	t.Chdir(dir)
	_, err := ReadSecretFile("s")
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+filepath.Join(dir, "s")) {
		t.Errorf("got %v", err)
	}
}

func TestReadSecretFileFollowsSymlinkToPrivateFile(t *testing.T) {
	dir := t.TempDir()
	target := writeFile(t, filepath.Join(dir, "real"), "x\n", 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	if got, err := ReadSecretFile(link); err != nil || got != "x" {
		t.Errorf("got %q, %v", got, err)
	}
	if err := os.Chmod(target, 0o644); err != nil {
		t.Fatal(err)
	}
	// The permission checked is the target's, not the link's (always 0777).
	if _, err := ReadSecretFile(link); err == nil || !strings.Contains(err.Error(), "0644") {
		t.Errorf("got %v", err)
	}
}

func TestWriteSecretFile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing string // "" = no file
		mode     os.FileMode
	}{
		{"new file", "", 0},
		{"tightens 0644", "old-content-that-is-longer\n", 0o644},
		{"tightens 0666", "old\n", 0o666},
		{"keeps 0600", "old\n", 0o600},
		{"read-only 0400", "old\n", 0o400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "platform.key")
			if tc.existing != "" {
				writeFile(t, path, tc.existing, tc.mode)
			}
			if err := WriteSecretFile(path, []byte("new-key\n")); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != 0o600 {
				t.Errorf("mode = %v, want -rw-------", fi.Mode())
			}
			data, _ := os.ReadFile(path)
			if string(data) != "new-key\n" {
				t.Errorf("content = %q", data)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("temp file left behind: %v", entries)
			}
			if got, err := ReadSecretFile(path); err != nil || got != "new-key" {
				t.Errorf("read back: %q, %v", got, err)
			}
		})
	}
}

func TestWriteSecretFileCreatesPrivateParent(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "a", "b", "secret")
	if err := WriteSecretFile(path, []byte("s")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		// the umask may only take bits away
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v", d, fi.Mode())
		}
	}
}

func TestWriteSecretFileRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := WriteSecretFile(filepath.Join(dir, "d"), []byte("s"))
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("got %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left files behind: %v", entries)
	}
}
