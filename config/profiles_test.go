package config

import (
	"os"
	"slices"
	"testing"
)

func TestProfiles(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	for _, f := range []string{"config.toml", "eu.toml", "us-east.toml", "notes.txt", "bad name.toml"} {
		writeFile(t, dir+"/"+f, "", 0o600)
	}
	if err := os.Mkdir(dir+"/sub.toml", 0o700); err != nil {
		t.Fatal(err)
	}
	got := Profiles(dir + "/eu.toml")
	if want := []string{"default", "eu", "us-east"}; !slices.Equal(got, want) {
		t.Fatalf("Profiles = %v, want %v", got, want)
	}
	if Profiles("") != nil {
		t.Fatal("no config file, no profiles")
	}
}
