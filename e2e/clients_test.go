package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/clients/platform"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/sandbox"
)

const step = 80 * time.Millisecond

func start(t *testing.T) (*sandbox.Sandbox, *config.Config) {
	t.Helper()
	for _, k := range []string{config.EnvCommandsToken, config.EnvCommandsSignSecret, config.EnvPlatformAPIKey, config.EnvFleetClientSecret} {
		t.Setenv(k, "")
	}
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: t.TempDir(), TransitionDelay: step})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close(); cancel() })
	cfg, err := config.Load(sb.ConfigPath(), "")
	if err != nil {
		t.Fatal(err)
	}
	return sb, cfg
}

// waitStatus polls until vin reaches want, recording every status seen.
func waitStatus(t *testing.T, c *fleet.Client, vin string, want fleet.Status) []fleet.Status {
	t.Helper()
	ctx := context.Background()
	var seen []fleet.Status
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		v, err := c.Get(ctx, vin)
		if err != nil {
			t.Fatalf("get %s: %v", vin, err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != v.Status {
			seen = append(seen, v.Status)
		}
		if v.Status == want {
			return seen
		}
		time.Sleep(step / 4)
	}
	t.Fatalf("%s never reached %s; saw %v", vin, want, seen)
	return nil
}

func TestClearanceThroughEveryTransition(t *testing.T) {
	_, cfg := start(t)
	c, err := fleet.NewFromConfig(cfg.Fleet, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	list, err := c.List(ctx, nil)
	if err != nil || len(list) < 12 {
		t.Fatalf("list: %d vehicles, %v", len(list), err)
	}
	states := map[fleet.Status]bool{}
	for _, v := range list {
		states[v.Status] = true
	}
	for _, s := range []fleet.Status{fleet.StatusApproved, fleet.StatusPending, fleet.StatusRevoking, fleet.StatusRevoked, fleet.StatusRejected, fleet.StatusCanceling, fleet.StatusCanceled} {
		if !states[s] {
			t.Errorf("default fleet has no %s vehicle", s)
		}
	}
	only, err := c.List(ctx, &fleet.Filter{Brand: "bmw"})
	if err != nil || len(only) == 0 {
		t.Fatalf("filtered list: %v %v", only, err)
	}
	for _, v := range only {
		if v.Brand != "bmw" {
			t.Errorf("filter brand=bmw returned %s", v.Brand)
		}
	}

	// pending → approved, then approved → revoking → revoked.
	res, err := c.Add(ctx, []fleet.NewVehicle{{VIN: "WBA5R1C51KAJ55555", Brand: "bmw"}})
	if err != nil || len(res) != 1 || res[0].Status != fleet.StatusPending {
		t.Fatalf("add: %v %v", res, err)
	}
	waitStatus(t, c, "WBA5R1C51KAJ55555", fleet.StatusApproved)
	if err := c.Delete(ctx, "WBA5R1C51KAJ55555"); err != nil {
		t.Fatal(err)
	}
	seen := waitStatus(t, c, "WBA5R1C51KAJ55555", fleet.StatusRevoked)
	if seen[0] != fleet.StatusRevoking {
		t.Errorf("revoke went %v, want revoking first", seen)
	}
	if err := c.Delete(ctx, "WBA5R1C51KAJ55555"); !fleet.IsConflict(err) {
		t.Errorf("revoking a revoked vehicle: %v, want 409", err)
	}

	// pending → canceling → canceled, for a brand High Mobility can cancel.
	if _, err := c.Add(ctx, []fleet.NewVehicle{{VIN: "VF3MCYHZRKS144444", Brand: "peugeot"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "VF3MCYHZRKS144444"); err != nil {
		t.Fatal(err)
	}
	seen = waitStatus(t, c, "VF3MCYHZRKS144444", fleet.StatusCanceled)
	if seen[0] != fleet.StatusCanceling {
		t.Errorf("cancel went %v, want canceling first", seen)
	}
	// Other brands: 422, the activation goes on.
	if _, err := c.Add(ctx, []fleet.NewVehicle{{VIN: "WBA5R1C51KAJ44444", Brand: "bmw"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "WBA5R1C51KAJ44444"); !fleet.IsUnsupported(err) || !strings.Contains(err.Error(), "cancellation is not supported") {
		t.Errorf("cancelling a pending bmw: %v, want 422 not supported", err)
	}
	waitStatus(t, c, "WBA5R1C51KAJ44444", fleet.StatusApproved)

	// pending → rejected, with its reason in the changelog; then 422.
	if _, err := c.Add(ctx, []fleet.NewVehicle{{VIN: "WBA5R1C51KAJ55000", Brand: "bmw"}}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "WBA5R1C51KAJ55000", fleet.StatusRejected)
	v, _ := c.Get(ctx, "WBA5R1C51KAJ55000")
	if last := v.Changelog[len(v.Changelog)-1]; last.Reason == "" {
		t.Errorf("rejection without a reason: %+v", v.Changelog)
	}
	if err := c.Delete(ctx, "WBA5R1C51KAJ55000"); !fleet.IsUnsupported(err) {
		t.Errorf("revoking a rejected vehicle: %v, want 422", err)
	}

	// Mercedes-Benz: refused locally without odometer, accepted with it.
	if _, err := c.Add(ctx, []fleet.NewVehicle{{VIN: "W1KZF8DB1LA555874", Brand: "mercedes-benz"}}); !errors.Is(err, fleet.ErrNeedsOdometer) {
		t.Errorf("mercedes without odometer: %v", err)
	}
	res, err = c.Add(ctx, []fleet.NewVehicle{{VIN: "W1KZF8DB1LA555874", Brand: "mercedes-benz", Odometer: &fleet.Odometer{Value: 4200, Unit: "kilometers"}}})
	if err != nil || res[0].Status != fleet.StatusPending {
		t.Errorf("mercedes with odometer: %v %v", res, err)
	}
	// An unknown brand comes back as an error row with a description.
	res, err = c.Add(ctx, []fleet.NewVehicle{{VIN: "WBA5R1C51KAJ33333", Brand: "trabant"}})
	if err != nil || res[0].Status != fleet.StatusError || res[0].Description == "" {
		t.Errorf("unknown brand: %v %v", res, err)
	}

	e, err := c.Eligibility(ctx, "WBA5R1C51KAJ98123", "bmw")
	if err != nil || e.VIN != "WBA5R1C51KAJ98123" {
		t.Errorf("eligibility: %+v %v", e, err)
	}
	if c.TokenValidUntil().Before(time.Now()) {
		t.Error("no valid token after calls")
	}
}

func TestCommandsEndToEnd(t *testing.T) {
	_, cfg := start(t)
	c, err := commands.NewFromConfig(cfg.Commands, nil, commands.WithPolling(20*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const v = "WBA5R1C51KAJ98123"

	res, err := c.Send(ctx, v, "lock_door", "")
	if err != nil || res.Command == nil || res.Command.Status != commands.StatusPending {
		t.Fatalf("lock_door: %+v %v", res, err)
	}
	final, err := c.Follow(ctx, res.Command.ID, nil)
	if err != nil || final.Status != commands.StatusSuccess {
		t.Fatalf("follow: %+v %v", final, err)
	}

	// Ignition: confirmation, a wrong code, a new confirmation, the right code.
	res, err = c.Send(ctx, v, "enable_ignition", "")
	if err != nil || res.Confirmation == nil || len(res.Confirmation.Code) != 6 || res.Confirmation.Message == "" {
		t.Fatalf("step one: %+v %v", res, err)
	}
	wrong := "000000"
	if res.Confirmation.Code == wrong {
		wrong = "999999"
	}
	if _, err := c.Send(ctx, v, "enable_ignition", wrong); !errors.Is(err, commands.ErrConfirmationInvalid) || !commands.RestartsFlow(err) {
		t.Fatalf("wrong code: %v", err)
	}
	res, err = c.Send(ctx, v, "enable_ignition", "")
	if err != nil || res.Confirmation == nil {
		t.Fatal(err)
	}
	code := res.Confirmation.Code
	res, err = c.Send(ctx, v, "enable_ignition", code)
	if err != nil || res.Command == nil {
		t.Fatalf("step two: %+v %v", res, err)
	}
	if final, err := c.Follow(ctx, res.Command.ID, nil); err != nil || final.Status != commands.StatusSuccess {
		t.Fatalf("ignition follow: %+v %v", final, err)
	}
	if _, err := c.Send(ctx, v, "enable_ignition", code); !errors.Is(err, commands.ErrConfirmationUsed) {
		t.Fatalf("reused code: %v", err)
	}
	if _, err := c.Send(ctx, "WBA5R1C51KAJ00001", "lock_door", ""); !errors.Is(err, commands.ErrVINNotFound) {
		t.Fatalf("unknown VIN: %v", err)
	}
}

func TestPlatform503ThenSuccess(t *testing.T) {
	sb, cfg := start(t)
	var states []platform.AuthState
	c, err := platform.NewFromConfig(cfg.Platform, nil,
		platform.WithRetry(4, 10*time.Millisecond),
		platform.WithOnState(func(s platform.AuthState) { states = append(states, s) }))
	if err != nil {
		t.Fatal(err)
	}
	sb.Faults().Platform503Burst(2)
	fields, err := c.Fields(context.Background())
	if err != nil || len(fields) == 0 {
		t.Fatalf("fields after a 503 burst: %v %v", fields, err)
	}
	if len(states) < 2 || states[0] != platform.AuthUnverified || states[len(states)-1] != platform.AuthOK {
		t.Fatalf("states = %v, want unverified then ok", states)
	}
}

// Every way the fleet API authenticates, configured as an operator would:
// the service account, the OAuth2 client secret, and the OAuth2 client
// with a client_assertion signed by its private key.
func TestFleetAuthFlows(t *testing.T) {
	sb, cfg := start(t)
	for name, f := range map[string]config.Fleet{
		"service account": *cfg.Fleet,
		"client secret": {BaseURL: cfg.Fleet.BaseURL, Audience: cfg.Fleet.Audience, ClientID: sb.FleetClientID(),
			ClientSecretFile: filepath.Join(sb.Dir(), sandbox.FleetClientSecret)},
		"client assertion": {BaseURL: cfg.Fleet.BaseURL, Audience: cfg.Fleet.Audience, ClientID: sb.FleetClientID(),
			PrivateKeyFile: filepath.Join(sb.Dir(), sandbox.FleetOAuthKeyFile)},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := fleet.NewFromConfig(&f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if list, err := c.List(context.Background(), nil); err != nil || len(list) == 0 {
				t.Fatalf("list: %d vehicles, %v", len(list), err)
			}
		})
	}
	// A client_assertion from another key is refused in OAuth2's shape.
	other := config.Fleet{BaseURL: cfg.Fleet.BaseURL, Audience: cfg.Fleet.Audience, ClientID: sb.FleetClientID(), PrivateKeyFile: cfg.Fleet.ServiceAccount}
	c, err := fleet.NewFromConfig(&other, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background(), nil); !fleet.IsUnauthorized(err) || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("assertion signed by the service account key: %v", err)
	}
}

// mobway's details: {} while Pending (nothing to show), date_time on
// success, the position for location.
func TestCommandDetails(t *testing.T) {
	_, cfg := start(t)
	c, err := commands.NewFromConfig(cfg.Commands, nil, commands.WithPolling(20*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const v = "WBA5R1C51KAJ98123"
	res, err := c.Send(ctx, v, "location", "")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := c.Status(ctx, res.Command.ID)
	if err != nil || pending.Status != commands.StatusPending || string(pending.Detail) != "{}" || pending.DetailText() != "" {
		t.Fatalf("pending: %+v %v", pending, err)
	}
	final, err := c.Follow(ctx, res.Command.ID, nil)
	if err != nil || final.Status != commands.StatusSuccess {
		t.Fatalf("follow: %+v %v", final, err)
	}
	var loc struct {
		Latitude, Longitude *float64
		DateTime            string `json:"date_time"`
	}
	if err := json.Unmarshal(final.Detail, &loc); err != nil || loc.Latitude == nil || loc.Longitude == nil ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`).MatchString(loc.DateTime) {
		t.Errorf("location detail %s", final.Detail)
	}
	res, err = c.Send(ctx, v, "unlock_door", "")
	if err != nil {
		t.Fatal(err)
	}
	final, err = c.Follow(ctx, res.Command.ID, nil)
	var doors map[string]string
	if err != nil || json.Unmarshal(final.Detail, &doors) != nil || len(doors) != 1 || doors["date_time"] == "" {
		t.Errorf("unlock_door detail %s (%v)", final.Detail, err)
	}
}
