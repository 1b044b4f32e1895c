package cli

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
)

func newVehiclesCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:        "vehicles",
		Short:      "Fleet clearance: list, add, revoke, eligibility",
		SuggestFor: []string{"cars", "fleet", "clearance"},
	}
	cmd.AddCommand(newVehiclesListCmd(app), newVehiclesShowCmd(app), newVehiclesAddCmd(app),
		newVehiclesRevokeCmd(app), newVehiclesEligibilityCmd(app), newVehiclesTimelineCmd(app))
	return cmd
}

func (a *App) fleetClient() (*fleet.Client, error) {
	cfg, err := a.Config()
	if err != nil {
		return nil, err
	}
	if cfg.Fleet == nil {
		return nil, fmt.Errorf("the fleet API is disabled: %s has no [fleet] section", cfg.File)
	}
	a.sandboxNotice(cfg)
	return fleet.NewFromConfig(cfg.Fleet, a.Logger().With("client", "fleet"))
}

// fleetActions is the fleet client behind the audit journal, for the
// commands that change the clearance list.
func (a *App) fleetActions() (*audit.FleetActions, error) {
	c, err := a.fleetClient()
	if err != nil {
		return nil, err
	}
	j, err := a.Journal()
	if err != nil {
		return nil, err
	}
	return audit.Fleet(c, j, audit.LocalActor()), nil
}

// vehicleJSON is the --json shape of a vehicle: the API's own field names.
type vehicleJSON struct {
	VIN       string            `json:"vin"`
	Brand     string            `json:"brand"`
	Status    string            `json:"status"`
	Changelog []changeJSON      `json:"changelog"`
	Tags      map[string]string `json:"tags,omitempty"`
}

type changeJSON struct {
	Timestamp time.Time `json:"timestamp"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
}

func toVehicleJSON(v fleet.Vehicle) vehicleJSON {
	out := vehicleJSON{VIN: v.VIN, Brand: v.Brand, Status: string(v.Status), Tags: v.Tags, Changelog: []changeJSON{}}
	for _, c := range v.Changelog {
		out.Changelog = append(out.Changelog, changeJSON{Timestamp: c.Timestamp, Status: string(c.Status), Reason: c.Reason})
	}
	return out
}

func newVehiclesListCmd(app *App) *cobra.Command {
	var asJSON, asCSV bool
	var status, brand string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the fleet's vehicles and their clearance",
		Long: `List the fleet's vehicles and their clearance, as a table, --json or --csv.

--status and --brand filter (case ignored). A value that is neither
documented nor held by any vehicle of the fleet is refused (exit 2) with the
valid ones, so a typo does not pass for an empty fleet.

Each listing is kept for a few minutes (0600, under $XDG_CACHE_HOME/fleetdeck)
for shell completion to offer VINs.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.fleetClient()
			if err != nil {
				return err
			}
			vs, err := c.List(cmd.Context(), nil)
			if err != nil {
				return err // "list vehicles: …" already
			}
			if cfg, err := app.Config(); err == nil {
				app.rememberFleet(cfg, vs, time.Now())
			}
			if err := checkFilter(cmd, "--status", status, statusNames(), vs, func(v fleet.Vehicle) string { return string(v.Status) }); err != nil {
				return err
			}
			if err := checkFilter(cmd, "--brand", brand, fleet.Brands(), vs, func(v fleet.Vehicle) string { return v.Brand }); err != nil {
				return err
			}
			vs = filterVehicles(vs, status, brand)
			switch {
			case asJSON:
				out := make([]vehicleJSON, 0, len(vs))
				for _, v := range vs {
					out = append(out, toVehicleJSON(v))
				}
				return app.PrintJSON(out)
			case asCSV:
				return writeVehiclesCSV(app.Stdout, vs)
			}
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VIN\tBRAND\tSTATUS\tLAST CHANGE\tTAGS")
			for _, v := range vs {
				last := "-"
				if t := v.LastChange(); !t.IsZero() {
					last = t.Local().Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", termsafe.String(v.VIN), termsafe.String(v.Brand),
					termsafe.String(string(v.Status)), last, fleet.TagText(v.Tags, ","))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.BoolVar(&asCSV, "csv", false, "print CSV (a header row, times in RFC 3339 UTC)")
	cmd.MarkFlagsMutuallyExclusive("json", "csv")
	f.StringVar(&status, "status", "", "only vehicles in this clearance status ("+strings.Join(statusNames(), ", ")+")")
	f.StringVar(&brand, "brand", "", "only vehicles of this brand")
	completeFlag(cmd, "status", completeStatuses)
	completeFlag(cmd, "brand", app.completeBrands)
	return cmd
}

// checkFilter refuses a --status or --brand value that matches no vehicle
// and is not documented: a typo ("aproved") must not read as "no such
// vehicles". A value some vehicle holds is fine even when undocumented (the
// API adds brands and states), and so is a documented one nobody holds.
func checkFilter(cmd *cobra.Command, flag, value string, documented []string, vs []fleet.Vehicle, field func(fleet.Vehicle) string) error {
	if value == "" {
		return nil
	}
	valid := slices.Clone(documented)
	for _, v := range vs {
		if f := strings.ToLower(field(v)); f != "" && !slices.Contains(valid, f) {
			valid = append(valid, f)
		}
	}
	for _, v := range valid {
		if strings.EqualFold(v, strings.TrimSpace(value)) {
			return nil
		}
	}
	slices.Sort(valid)
	return unknownValue(cmd, flag, value, valid)
}

func filterVehicles(vs []fleet.Vehicle, status, brand string) []fleet.Vehicle {
	if status == "" && brand == "" {
		return vs
	}
	out := vs[:0:0]
	for _, v := range vs {
		if status != "" && !strings.EqualFold(string(v.Status), strings.TrimSpace(status)) {
			continue
		}
		if brand != "" && !strings.EqualFold(v.Brand, strings.TrimSpace(brand)) {
			continue
		}
		out = append(out, v)
	}
	return out
}

func newVehiclesShowCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:               "show VIN",
		Short:             "Show one vehicle with its clearance changelog",
		Args:              exactArgs("VIN"),
		ValidArgsFunction: app.vinArg(nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			vn, err := checkAnyVIN(args[0])
			if err != nil {
				return err
			}
			c, err := app.fleetClient()
			if err != nil {
				return err
			}
			v, err := c.Get(cmd.Context(), vn)
			if err != nil {
				return err // "get VIN: …" already
			}
			if asJSON {
				return app.PrintJSON(toVehicleJSON(v))
			}
			fmt.Fprintf(app.Stdout, "%s  %s  %s\n", termsafe.String(v.VIN), termsafe.String(v.Brand), termsafe.String(string(v.Status)))
			if t := fleet.TagText(v.Tags, ","); t != "" {
				fmt.Fprintf(app.Stdout, "tags: %s\n", t)
			}
			for _, ch := range v.Changelog {
				line := fmt.Sprintf("  %s  %s", ch.Timestamp.Local().Format("2006-01-02 15:04:05"), termsafe.String(string(ch.Status)))
				if ch.Reason != "" {
					line += "  (" + termsafe.String(ch.Reason) + ")"
				}
				fmt.Fprintln(app.Stdout, line)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

type addResultJSON struct {
	VIN         string `json:"vin"`
	Status      string `json:"status"`
	Description string `json:"description,omitempty"`
	Warning     string `json:"warning,omitempty"`
}

func newVehiclesAddCmd(app *App) *cobra.Command {
	var (
		asJSON   bool
		brand    string
		odometer int64
		unit     string
		from     string
		tags     []string
		chunk    int
	)
	cmd := &cobra.Command{
		Use:   "add [VIN] --brand BRAND [--odometer KM]",
		Short: "Request clearance for vehicles (one VIN, or many with --from FILE)",
		Long: `Request clearance for a vehicle, or for many with --from FILE.

FILE is CSV, or one "VIN,brand[,odometer]" a line; a header line naming vin is
skipped, blank lines and lines starting with # are ignored. Mercedes-Benz
vehicles need their current odometer (the OEM checks it).

Every row gets its own result; the exit code is 1 when any row failed.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if from != "" {
				return noArgs(cmd, args)
			}
			return exactArgs("VIN")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if unit != "kilometers" && unit != "miles" {
				return usageError("--unit must be kilometers or miles, got %q", unit)
			}
			var rows []fleet.NewVehicle
			var warnings map[string]string
			var err error
			if from != "" {
				rows, warnings, err = readVehicleFile(from, unit)
				if err != nil {
					return err
				}
			} else {
				if brand == "" {
					return usageError("vehicles add: --brand is required%s", brandHint(args[0]))
				}
				tagMap, err := parseTags(tags)
				if err != nil {
					return err
				}
				r, err := checkVIN(args[0], brand)
				if err != nil {
					return err
				}
				nv := fleet.NewVehicle{VIN: r.VIN, Brand: fleet.NormalizeBrand(brand), Tags: tagMap}
				if cmd.Flags().Changed("odometer") {
					if odometer < 0 {
						return usageError("--odometer must not be negative")
					}
					nv.Odometer = &fleet.Odometer{Value: odometer, Unit: unit}
				}
				// readVehicleFile checks this for every row of a file.
				if nv.Brand == fleet.BrandMercedesBenz && nv.Odometer == nil {
					return fmt.Errorf("add %s: %w (pass --odometer KM)", nv.VIN, fleet.ErrNeedsOdometer)
				}
				rows = []fleet.NewVehicle{nv}
				warnings = map[string]string{}
				if w := joinWarnings(r.Warning(), brandWarning(r.VIN, nv.Brand)); w != "" {
					warnings[r.VIN] = w
				}
			}
			for v, w := range warnings {
				fmt.Fprintf(app.Stderr, "warning: %s: %s\n", v, w)
			}
			c, err := app.fleetActions()
			if err != nil {
				return err
			}
			progress := func(done, total int) {}
			if f, ok := app.Stderr.(*os.File); ok && term.IsTerminal(f.Fd()) && len(rows) > chunk {
				progress = func(done, total int) {
					fmt.Fprintf(app.Stderr, "\radding vehicles: %d/%d", done, total)
					if done == total {
						fmt.Fprintln(app.Stderr)
					}
				}
			}
			results, err := c.AddBatched(cmd.Context(), rows, chunk, progress)
			if err != nil && len(results) == 0 {
				return fmt.Errorf("add vehicles: %w", err)
			}
			failed := 0
			out := make([]addResultJSON, 0, len(results))
			for _, r := range results {
				if r.Status == fleet.StatusError {
					failed++
				}
				out = append(out, addResultJSON{VIN: r.VIN, Status: string(r.Status), Description: termsafe.String(r.Description), Warning: warnings[r.VIN]})
			}
			if asJSON {
				if err := app.PrintJSON(out); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VIN\tSTATUS\tDESCRIPTION")
				for _, r := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", termsafe.String(r.VIN), termsafe.String(r.Status), r.Description)
				}
				tw.Flush()
			}
			if err != nil {
				return fmt.Errorf("add vehicles: %w", err)
			}
			if failed > 0 {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d of %d vehicles were not added", failed, len(results))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.StringVar(&brand, "brand", "", "brand as the fleet API names it (e.g. bmw, mercedes-benz, sandbox)")
	f.Int64Var(&odometer, "odometer", 0, "current odometer reading (required for Mercedes-Benz)")
	f.StringVar(&unit, "unit", "kilometers", "odometer unit: kilometers or miles")
	f.StringVar(&from, "from", "", "add every vehicle in FILE (CSV: VIN,brand[,odometer])")
	f.StringArrayVar(&tags, "tag", nil, "tag KEY=VALUE (repeatable)")
	f.IntVar(&chunk, "chunk", 50, "vehicles per request with --from")
	completeFlag(cmd, "brand", app.completeBrands)
	completeFlag(cmd, "unit", completeUnits)
	must(cmd.MarkFlagFilename("from", "csv", "txt"))
	return cmd
}

// brandHint proposes --brand from a VIN's manufacturer code, for the error
// that asks for it: "" when the code is not known.
func brandHint(v string) string {
	bs := vin.Brands(v)
	if len(bs) == 0 {
		return ""
	}
	return fmt.Sprintf(" (the manufacturer code %s suggests --brand %s)", vin.WMI(v), strings.Join(bs, " or --brand "))
}

// brandWarning is what to tell the operator about a brand the API may
// refuse: one it does not document (with the nearest documented ones), or
// one the VIN's manufacturer code contradicts. "" when nothing is odd. The
// request goes out anyway: the API is the judge of brands.
func brandWarning(v, brand string) string {
	if !fleet.KnownBrand(brand) {
		return fmt.Sprintf("brand %q is not one the fleet API documents%s", termsafe.String(brand), didYouMean(suggest(brand, fleet.Brands())))
	}
	if bs := vin.Brands(v); len(bs) > 0 && brand != fleet.BrandSandbox && !slices.Contains(bs, brand) {
		return fmt.Sprintf("its manufacturer code %s is %s's, not %s's", vin.WMI(v), strings.Join(bs, " or "), brand)
	}
	return ""
}

func joinWarnings(ws ...string) string {
	var out []string
	for _, w := range ws {
		if w != "" {
			out = append(out, w)
		}
	}
	return strings.Join(out, "; ")
}

// checkVIN is vin.Check, except that High Mobility's own sandbox vehicles
// (brand "sandbox") may carry I, O or Q, as its documents' VINs do; the
// fleet client applies the same rule.
func checkVIN(v, brand string) (vin.Result, error) {
	n := vin.Normalize(v)
	if fleet.NormalizeBrand(brand) == fleet.BrandSandbox && vin.Plausible(n) {
		return vin.Result{VIN: n, CheckDigitOK: true}, nil
	}
	return vin.Check(n)
}

// checkAnyVIN checks a VIN whose brand is not known here (show, revoke):
// it must have a VIN's shape; the letters I, O and Q, which only High
// Mobility's sandbox vehicles carry, are left for the API to judge.
func checkAnyVIN(v string) (string, error) {
	r, err := checkVIN(v, fleet.BrandSandbox)
	return r.VIN, err
}

func parseTags(tags []string) (map[string]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return nil, usageError("--tag %q: want KEY=VALUE", t)
		}
		m[k] = v
	}
	return m, nil
}

// readVehicleFile reads a bulk onboarding file. Every problem names its line;
// nothing is sent unless the whole file is valid.
func readVehicleFile(path, unit string) ([]fleet.NewVehicle, map[string]string, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, fmt.Errorf("read vehicles: %w", err)
		}
		defer f.Close()
		r = f
	}
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	var rows []fleet.NewVehicle
	warnings := map[string]string{}
	seen := map[string]int{}
	var problems []error
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rows) == 0 && len(problems) == 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "vin") {
			continue // header
		}
		if len(rec) < 2 || len(rec) > 3 {
			problems = append(problems, fmt.Errorf("%s:%d: want VIN,brand[,odometer], got %d fields", path, line, len(rec)))
			continue
		}
		res, err := checkVIN(rec[0], rec[1])
		if err != nil {
			problems = append(problems, fmt.Errorf("%s:%d: %w", path, line, err))
			continue
		}
		if prev, dup := seen[res.VIN]; dup {
			problems = append(problems, fmt.Errorf("%s:%d: %s already on line %d", path, line, res.VIN, prev))
			continue
		}
		seen[res.VIN] = line
		nv := fleet.NewVehicle{VIN: res.VIN, Brand: fleet.NormalizeBrand(rec[1])}
		if nv.Brand == "" {
			problems = append(problems, fmt.Errorf("%s:%d: brand is empty", path, line))
			continue
		}
		if len(rec) == 3 && strings.TrimSpace(rec[2]) != "" {
			n, err := strconv.ParseInt(strings.TrimSpace(rec[2]), 10, 64)
			if err != nil || n < 0 {
				problems = append(problems, fmt.Errorf("%s:%d: odometer %q is not a whole number", path, line, rec[2]))
				continue
			}
			nv.Odometer = &fleet.Odometer{Value: n, Unit: unit}
		}
		if nv.Brand == fleet.BrandMercedesBenz && nv.Odometer == nil {
			problems = append(problems, fmt.Errorf("%s:%d: %s: mercedes-benz needs the odometer as third field", path, line, res.VIN))
			continue
		}
		if w := joinWarnings(res.Warning(), brandWarning(res.VIN, nv.Brand)); w != "" {
			warnings[res.VIN] = w
		}
		rows = append(rows, nv)
	}
	if len(problems) > 0 {
		return nil, nil, errors.Join(problems...)
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("%s: no vehicles in file", path)
	}
	return rows, warnings, nil
}

func newVehiclesRevokeCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "revoke VIN",
		Short: "Revoke an approved vehicle, or cancel a pending clearance",
		Long: `Revoke a vehicle's clearance (approved → revoking → revoked: its data stops),
or cancel a pending one (pending → canceling → canceled). The API completes
this asynchronously; the command prints which it was (revocation or
cancellation requested) and the state reached. The audit journal records a
clearance.revoke or a clearance.cancel.`,
		Args:              exactArgs("VIN"),
		ValidArgsFunction: app.vinArg(statusIn(fleet.StatusApproved, fleet.StatusPending)),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := checkAnyVIN(args[0])
			if err != nil {
				return err
			}
			c, err := app.fleetActions()
			if err != nil {
				return err
			}
			// The errors start "revoke VIN: " or "cancel VIN: ".
			action, err := c.Remove(cmd.Context(), v)
			if err != nil {
				switch {
				case fleet.IsConflict(err):
					return fmt.Errorf("%w (already removed, or a change is in progress)", err)
				case fleet.IsUnsupported(err):
					return fmt.Errorf("%w (this vehicle's clearance cannot be removed)", err)
				}
				return err
			}
			verb, requested := "revoke", "revocation requested"
			if action == audit.ActionClearanceCancel {
				verb, requested = "cancel", "cancellation requested"
			}
			status := "requested"
			if got, err := c.Get(cmd.Context(), v); err == nil {
				status = string(got.Status)
			}
			if asJSON {
				return app.PrintJSON(map[string]string{"vin": v, "action": verb, "status": status})
			}
			fmt.Fprintf(app.Stdout, "%s: %s; status now %s\n", v, requested, termsafe.String(status))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newVehiclesEligibilityCmd(app *App) *cobra.Command {
	var asJSON bool
	var brand string
	cmd := &cobra.Command{
		Use:               "eligibility VIN --brand BRAND",
		Short:             "Check whether a vehicle can deliver data",
		Args:              exactArgs("VIN"),
		ValidArgsFunction: app.vinArg(nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			if brand == "" {
				return usageError("vehicles eligibility: --brand is required%s", brandHint(args[0]))
			}
			r, err := checkVIN(args[0], brand)
			if err != nil {
				return err
			}
			c, err := app.fleetClient()
			if err != nil {
				return err
			}
			e, err := c.Eligibility(cmd.Context(), r.VIN, strings.ToLower(brand))
			if err != nil {
				return err // "eligibility VIN: …" already
			}
			if asJSON {
				dd := e.DataDelivery
				if dd == nil {
					dd = []string{}
				}
				return app.PrintJSON(map[string]any{"vin": e.VIN, "eligible": e.Eligible, "data_delivery": dd, "connectivity_status": e.ConnectivityStatus})
			}
			verdict := "not eligible"
			if e.Eligible {
				verdict = "eligible"
			}
			fmt.Fprintf(app.Stdout, "%s: %s; data delivery: %s; connectivity: %s\n", termsafe.String(e.VIN), verdict,
				termsafe.String(strings.Join(e.DataDelivery, ", ")), termsafe.String(e.ConnectivityStatus))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&brand, "brand", "", "brand as the fleet API names it")
	completeFlag(cmd, "brand", app.completeBrands)
	return cmd
}
