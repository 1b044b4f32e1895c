package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultProfile names config.toml itself among the profiles.
const DefaultProfile = "default"

// Profiles lists the profiles beside a loaded config file: each NAME.toml
// in its directory whose name is a valid profile name, and DefaultProfile
// for config.toml. Nil when file is "" (no config file) or the directory
// cannot be read.
func Profiles(file string) []string {
	if file == "" {
		return nil
	}
	entries, err := os.ReadDir(filepath.Dir(file))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".toml")
		if !ok || e.IsDir() {
			continue
		}
		if name == "config" {
			out = append(out, DefaultProfile)
			continue
		}
		if name != DefaultProfile && checkProfile(name) == nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
