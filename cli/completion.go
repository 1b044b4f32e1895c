package cli

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/vin"
)

// completionFetchTimeout bounds the one API call a completion may make when
// the vehicle cache is stale: a shell waiting on TAB must not hang.
const completionFetchTimeout = 2 * time.Second

// clearanceStatuses are the documented clearance states with what each
// means, in the order a vehicle passes through them.
var clearanceStatuses = []struct{ name, desc string }{
	{string(fleet.StatusPending), "requested, the OEM has not answered"},
	{string(fleet.StatusApproved), "data flows"},
	{string(fleet.StatusRejected), "the OEM refused"},
	{string(fleet.StatusRevoking), "revocation under way"},
	{string(fleet.StatusRevoked), "data stopped"},
	{string(fleet.StatusCanceling), "cancellation under way"},
	{string(fleet.StatusCanceled), "request withdrawn"},
}

func statusNames() []string {
	out := make([]string, len(clearanceStatuses))
	for i, s := range clearanceStatuses {
		out[i] = s.name
	}
	slices.Sort(out)
	return out
}

var commandHelp = map[string]string{
	"lock_door":        "lock the doors",
	"unlock_door":      "unlock the doors",
	"location":         "report the position",
	"diagnostics":      "report diagnostics",
	"enable_ignition":  "two steps: a code, then --code",
	"disable_ignition": "two steps: a code, then --code",
}

// addCompletions wires the completions of the global flags.
func addCompletions(app *App, root *cobra.Command) {
	must(root.MarkPersistentFlagFilename("config", "toml"))
	must(root.RegisterFlagCompletionFunc("profile", app.completeProfiles))
}

// must stops at a completion wired to a flag that does not exist: a
// programming error the tests meet first, never the operator.
func must(err error) {
	if err != nil {
		panic("cli: " + err.Error())
	}
}

func completeFlag(cmd *cobra.Command, flag string, f cobra.CompletionFunc) {
	must(cmd.RegisterFlagCompletionFunc(flag, f))
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// completeStatuses offers the clearance states.
func completeStatuses(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, s := range clearanceStatuses {
		if hasPrefixFold(s.name, toComplete) {
			out = append(out, cobra.CompletionWithDesc(s.name, s.desc))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeCommands offers the documented command names.
func completeCommands(toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, c := range commands.KnownCommands {
		if hasPrefixFold(c, toComplete) {
			out = append(out, cobra.CompletionWithDesc(c, commandHelp[c]))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func completeUnits(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, u := range []string{fleet.UnitKilometers, fleet.UnitMiles} {
		if hasPrefixFold(u, toComplete) {
			out = append(out, u)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeBrands offers the fleet API's brands and any other brand the
// cached fleet holds. With a VIN already typed (add, eligibility), the
// brands its manufacturer code points to say so.
func (a *App) completeBrands(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var proposed []string
	if len(args) > 0 {
		proposed = vin.Brands(args[0])
	}
	brands := fleet.Brands()
	for _, v := range a.cachedFleet(cmd.Context(), false) {
		if b := fleet.NormalizeBrand(v.Brand); b != "" && !slices.Contains(brands, b) {
			brands = append(brands, b)
		}
	}
	slices.Sort(brands)
	var out []cobra.Completion
	directive := cobra.ShellCompDirectiveNoFileComp
	for _, b := range proposed {
		if hasPrefixFold(b, toComplete) {
			out = append(out, cobra.CompletionWithDesc(b, "from the VIN ("+vin.WMI(args[0])+")"))
			// The proposal first, the rest in alphabetical order after it.
			directive |= cobra.ShellCompDirectiveKeepOrder
		}
	}
	for _, b := range brands {
		if hasPrefixFold(b, toComplete) && !slices.Contains(proposed, b) {
			out = append(out, b)
		}
	}
	return out, directive
}

// completeVINs returns a completion function offering the cached fleet's
// VINs whose status passes keep (nil: all), described by brand and status.
func (a *App) completeVINs(keep func(status string) bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range a.cachedFleet(cmd.Context(), true) {
			if hasPrefixFold(v.VIN, toComplete) && (keep == nil || keep(v.Status)) {
				out = append(out, cobra.CompletionWithDesc(v.VIN, v.Brand+" · "+v.Status))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// vinArg completes the first argument with VINs and nothing after it.
func (a *App) vinArg(keep func(status string) bool) cobra.CompletionFunc {
	vins := a.completeVINs(keep)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return vins(cmd, args, toComplete)
	}
}

func statusIn(states ...fleet.Status) func(string) bool {
	return func(s string) bool { return slices.Contains(states, fleet.Status(s)) }
}

// cachedFleet is the fleet as the vehicle cache holds it. When the cache is
// stale and fetch is set, it asks the fleet API once, bounded by
// completionFetchTimeout, and keeps the answer; it never starts the embedded
// sandbox for a completion. Whatever fails, the stale cache (or nothing) is
// the answer: a completion has nowhere to report an error.
func (a *App) cachedFleet(ctx context.Context, fetch bool) []cachedVehicle {
	file, found := a.cacheTarget()
	path, err := vinCachePath(file, a.Profile)
	if err != nil {
		return nil
	}
	now := time.Now()
	c, fresh, err := readVINCache(path, now)
	if err != nil {
		a.Logger().Debug("completion: vehicle cache unreadable", "err", err)
	}
	if fresh || !fetch || !found || now.Sub(c.Tried) < vinCacheRetry {
		return c.Vehicles
	}
	c.Config, c.Tried = file, now
	if vs, err := a.fetchFleetBounded(ctx); err == nil {
		c.Written, c.Vehicles = now, cacheVehicles(vs)
	} else {
		a.Logger().Debug("completion: fleet not listed", "err", err)
	}
	if err := writeVINCache(path, c); err != nil {
		a.Logger().Debug("completion: vehicle cache not written", "err", err)
	}
	return c.Vehicles
}

// fetchFleetBounded lists the fleet, giving up after completionFetchTimeout
// even if something below ignores its context.
func (a *App) fetchFleetBounded(ctx context.Context) ([]fleet.Vehicle, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionFetchTimeout)
	defer cancel()
	type answer struct {
		vs  []fleet.Vehicle
		err error
	}
	done := make(chan answer, 1)
	go func() {
		c, err := a.fleetClient()
		if err != nil {
			done <- answer{err: err}
			return
		}
		vs, err := c.List(ctx, nil)
		done <- answer{vs, err}
	}()
	select {
	case r := <-done:
		return r.vs, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// completeProfiles offers the profiles beside the config file: every
// NAME.toml in its directory, but the config file itself, that --profile
// would accept.
func (a *App) completeProfiles(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var dir, self string
	base, found, err := config.Locate(a.ConfigPath, "")
	switch {
	case err == nil && found:
		dir, self = filepath.Dir(base), filepath.Base(base)
	case err == nil && config.ConfigDir() != "":
		dir, self = filepath.Join(config.ConfigDir(), "fleetdeck"), "config.toml"
	default:
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".toml")
		if !ok || e.Name() == self || !hasPrefixFold(name, toComplete) {
			continue
		}
		// config's own rules decide what a profile is (its name, a file).
		if p, found, err := config.Locate(a.ConfigPath, name); err != nil || !found || filepath.Dir(p) != dir {
			continue
		}
		out = append(out, name)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
