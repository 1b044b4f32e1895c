package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
)

// The vehicle cache is what shell completion offers as VINs: the fleet as
// the last `vehicles list` (or a completion's own bounded fetch) saw it, one
// file per configuration under $XDG_CACHE_HOME/fleetdeck, 0600.
const (
	// vinCacheTTL is how long a listed fleet stands in for the API.
	vinCacheTTL = 5 * time.Minute
	// vinCacheRetry spaces a completion's fetches while the API fails, so
	// an unreachable API costs one bounded wait, not one per TAB.
	vinCacheRetry = 30 * time.Second
	// maxVINCache bounds what a completion reads: 10,000 vehicles are ~1 MB.
	maxVINCache = 8 << 20
)

// vinCache is the file's content.
type vinCache struct {
	Config   string          `json:"config"`  // the config file it belongs to ("" for the embedded sandbox)
	Written  time.Time       `json:"written"` // when Vehicles were listed
	Tried    time.Time       `json:"tried"`   // the last fetch, whatever its outcome
	Vehicles []cachedVehicle `json:"vehicles"`
}

type cachedVehicle struct {
	VIN    string `json:"vin"`
	Brand  string `json:"brand"`
	Status string `json:"status"`
}

func cacheVehicles(vs []fleet.Vehicle) []cachedVehicle {
	out := make([]cachedVehicle, 0, len(vs))
	for _, v := range vs {
		out = append(out, cachedVehicle{VIN: v.VIN, Brand: v.Brand, Status: string(v.Status)})
	}
	return out
}

// vinCachePath names the cache of the configuration in configFile ("" for
// the embedded sandbox). The name carries the profile for a reader and a
// hash of the file's path, so two configs' fleets never mix.
func vinCachePath(configFile, profile string) (string, error) {
	dir, err := os.UserCacheDir() // $XDG_CACHE_HOME, else ~/.cache
	if err != nil {
		return "", fmt.Errorf("vehicle cache: %w", err)
	}
	name := "vehicles-sandbox.json"
	if configFile != "" {
		label := profile
		if label == "" {
			label = "default"
		}
		sum := sha256.Sum256([]byte(configFile))
		name = "vehicles-" + label + "-" + hex.EncodeToString(sum[:6]) + ".json"
	}
	return filepath.Join(dir, "fleetdeck", name), nil
}

// readVINCache returns the cache at path, whether it is younger than the
// TTL, and an error only for a file that exists but cannot be used. Entries
// that could upset a shell (anything but a VIN's characters) are dropped.
func readVINCache(path string, now time.Time) (vinCache, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return vinCache{}, false, nil
	}
	if err != nil {
		return vinCache{}, false, fmt.Errorf("vehicle cache: %w", err)
	}
	defer f.Close()
	var c vinCache
	if err := json.NewDecoder(io.LimitReader(f, maxVINCache)).Decode(&c); err != nil {
		return vinCache{}, false, fmt.Errorf("vehicle cache %s: %w", path, err)
	}
	kept := c.Vehicles[:0]
	for _, v := range c.Vehicles {
		if vin.Plausible(v.VIN) {
			v.Brand, v.Status = termsafe.String(v.Brand), termsafe.String(v.Status)
			kept = append(kept, v)
		}
	}
	c.Vehicles = kept
	age := now.Sub(c.Written)
	return c, !c.Written.IsZero() && age >= 0 && age < vinCacheTTL, nil
}

// writeVINCache replaces the file at path in one rename, 0600 in a 0700
// directory: a reader never sees half a file, and a symlink planted at path
// is replaced, not followed.
func writeVINCache(path string, c vinCache) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("vehicle cache: %w", err)
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("vehicle cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vehicles-*.tmp") // 0600
	if err != nil {
		return fmt.Errorf("vehicle cache: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("vehicle cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("vehicle cache: %w", err)
	}
	return nil
}

// cacheTarget is the config file and profile this App's flags name, as the
// cache is keyed: "" when no file is found (the embedded sandbox). It only
// looks for the file; nothing is loaded or started.
func (a *App) cacheTarget() (file string, found bool) {
	path, found, err := config.Locate(a.ConfigPath, a.Profile)
	if err != nil || !found {
		return "", false
	}
	return path, true
}

// rememberFleet writes what `vehicles list` fetched for completions. A
// failure is logged, never reported: the listing itself worked.
func (a *App) rememberFleet(cfg *config.Config, vs []fleet.Vehicle, now time.Time) {
	file := cfg.File
	if cfg.Sandbox && a.Sandbox() != nil {
		file = ""
	}
	path, err := vinCachePath(file, cfg.Profile)
	if err == nil {
		err = writeVINCache(path, vinCache{Config: file, Written: now, Tried: now, Vehicles: cacheVehicles(vs)})
	}
	if err != nil {
		a.Logger().Warn("vehicle cache not written", "err", err)
	}
}
