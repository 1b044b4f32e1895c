package fleetsim_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox/fleetsim"
	"github.com/fleetdeck/fleetdeck/vin"
)

var pseudonymRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

const (
	bmwVIN  = "WBA5R1C51KAJ98777"
	mbVIN   = "W1KZF8DB1LA555874"
	delay   = 50 * time.Millisecond
	settled = 2 * delay // TransitionDelay plus the most jitter (half of it) and some
)

func row(v, brand string) map[string]any { return map[string]any{"vin": v, "brand": brand} }

func activeFor(sim *fleetsim.Server, v string) (fleetsim.Active, bool) {
	for _, a := range sim.Approved() {
		if a.VIN == v {
			return a, true
		}
	}
	return fleetsim.Active{}, false
}

func TestAddPendingThenApproved(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	res := e.add(tok, map[string]any{"vin": bmwVIN, "brand": "bmw", "tags": map[string]string{"depot": "Lisbon"}})
	if res[0].Status != "pending" || res[0].VIN != bmwVIN {
		t.Fatalf("add: %+v", res[0])
	}
	e.clock.Add(delay - time.Millisecond)
	if v := e.vehicle(tok, bmwVIN); v.Status != "pending" {
		t.Fatalf("before TransitionDelay: %s", v.Status)
	}
	if e.sim.Known(bmwVIN) {
		t.Error("Known before approval")
	}
	e.clock.Add(settled)
	v := e.vehicle(tok, bmwVIN)
	if v.Status != "approved" || statuses(v) != "pending,approved" || v.Brand != "bmw" || v.Tags["depot"] != "Lisbon" {
		t.Fatalf("after TransitionDelay: %+v", v)
	}
	if _, err := time.Parse(fleetsim.TimeFormat, v.Changelog[1].Timestamp); err != nil {
		t.Errorf("changelog timestamp: %v", err)
	}
	a, ok := activeFor(e.sim, bmwVIN)
	if !ok || !pseudonymRE.MatchString(a.Pseudonym) || a.Brand != "bmw" {
		t.Fatalf("Approved(): %+v %v", a, ok)
	}
	if !e.sim.Known(bmwVIN) {
		t.Error("Known false after approval")
	}
}

func TestTransitionsOnRealClock(t *testing.T) {
	e := newEnv(t, func(o *fleetsim.Options) { o.Now = nil })
	e.clock.Add(time.Since(e.clock.Now())) // assertions are dated on the real clock too
	tok := e.token()
	e.add(tok, row(bmwVIN, "bmw"))
	deadline := time.Now().Add(3 * time.Second)
	for e.sim.Status(bmwVIN) != fleetsim.StatusApproved {
		if time.Now().After(deadline) {
			t.Fatalf("still %s after 3s with a 50ms TransitionDelay", e.sim.Status(bmwVIN))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRevokeApproved(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	e.add(tok, row(bmwVIN, "bmw"))
	e.clock.Add(settled)
	first, _ := activeFor(e.sim, bmwVIN)

	r := e.do(http.MethodDelete, "/fleets/vehicles/"+bmwVIN, tok, "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"status":"revoking"`) {
		t.Fatalf("delete: HTTP %d %s", r.status, r.body)
	}
	if _, ok := activeFor(e.sim, bmwVIN); ok {
		t.Error("a revoking vehicle is still in Approved()")
	}
	if r := e.do(http.MethodDelete, "/fleets/vehicles/"+bmwVIN, tok, "", nil); r.status != http.StatusConflict || !strings.Contains(r.errorDetail(), "transition") {
		t.Errorf("delete while revoking: HTTP %d %q", r.status, r.errorDetail())
	}
	e.clock.Add(settled)
	v := e.vehicle(tok, bmwVIN)
	if statuses(v) != "pending,approved,revoking,revoked" {
		t.Fatalf("changelog %s", statuses(v))
	}
	if r := e.do(http.MethodDelete, "/fleets/vehicles/"+bmwVIN, tok, "", nil); r.status != http.StatusConflict || !strings.Contains(r.errorDetail(), "already removed") {
		t.Errorf("delete revoked: HTTP %d %q", r.status, r.errorDetail())
	}

	// Re-adding starts a new activation with a new pseudonym.
	if res := e.add(tok, row(bmwVIN, "bmw")); res[0].Status != "pending" {
		t.Fatalf("re-add: %+v", res[0])
	}
	e.clock.Add(settled)
	second, ok := activeFor(e.sim, bmwVIN)
	if !ok || second.Pseudonym == first.Pseudonym || !pseudonymRE.MatchString(second.Pseudonym) {
		t.Fatalf("re-activation pseudonym %q (first %q)", second.Pseudonym, first.Pseudonym)
	}
	if got := statuses(e.vehicle(tok, bmwVIN)); got != "pending,approved,revoking,revoked,pending,approved" {
		t.Errorf("changelog %s", got)
	}
}

func TestCancelPending(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	const peugeotVIN = "VF3MCYHZRKS144444"
	e.add(tok, row(peugeotVIN, "peugeot"))
	r := e.do(http.MethodDelete, "/fleets/vehicles/"+peugeotVIN, tok, "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"status":"canceling"`) {
		t.Fatalf("delete pending: HTTP %d %s", r.status, r.body)
	}
	e.clock.Add(settled)
	v := e.vehicle(tok, peugeotVIN)
	if v.Status != "canceled" || statuses(v) != "pending,canceling,canceled" {
		t.Fatalf("got %s (%s): the pending verdict must not land after a cancel", v.Status, statuses(v))
	}
	if r := e.do(http.MethodDelete, "/fleets/vehicles/"+peugeotVIN, tok, "", nil); r.status != http.StatusConflict {
		t.Errorf("delete canceled: HTTP %d", r.status)
	}
}

// Cancelling a pending activation works only for the brands HM lists.
func TestCancelOnlyListedBrands(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	for _, c := range []struct {
		vin, brand string
		ok         bool
	}{
		{bmwVIN, "bmw", false},
		{"VF1RJA00X63123491", "renault", false},
		{"5YJ3E1EA6KF123456", "tesla", false},
		{"WVWZZZ1KZ6W123456", "volkswagen", true},
		{"WAUZZZ8V7KA123456", "audi", true},
		{"TMBJJ7NE5K0123456", "skoda", true},
		{"VSSZZZKJZKR123456", "seat", true},
		{"VSSZZZKJZKR654321", "cupra", true},
		{"W0LF7DC36RV123456", "opel", true},
		{"ZFA3120000J123478", "fiat", true},
		{"1C4RJFAG0FC625797", "jeep", true},
		{"ZAMXS57C001234567", "maserati", true},
	} {
		e.add(tok, row(c.vin, c.brand))
		r := e.do(http.MethodDelete, "/fleets/vehicles/"+c.vin, tok, "", nil)
		switch {
		case c.ok && r.status != http.StatusOK:
			t.Errorf("%s: HTTP %d %s, want the cancel accepted", c.brand, r.status, r.body)
		case !c.ok && (r.status != http.StatusUnprocessableEntity || r.errorDetail() != "cancellation is not supported for this vin"):
			t.Errorf("%s: HTTP %d %s, want 422 not supported", c.brand, r.status, r.body)
		}
	}
	// A refused cancel leaves the activation running.
	e.clock.Add(settled)
	if v := e.vehicle(tok, bmwVIN); v.Status != "approved" {
		t.Errorf("bmw after a refused cancel: %s", v.Status)
	}
}

func TestRejectionRuleAndDeleteErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	const rejected = "WBA5R1C51KAJ98000"
	e.add(tok, row(rejected, "bmw"))
	e.clock.Add(settled)
	v := e.vehicle(tok, rejected)
	if v.Status != "rejected" || v.Changelog[len(v.Changelog)-1].Reason != "vehicle not found at OEM" {
		t.Fatalf("got %+v", v)
	}
	if r := e.do(http.MethodDelete, "/fleets/vehicles/"+rejected, tok, "", nil); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.errorDetail(), "not supported") {
		t.Errorf("delete rejected: HTTP %d %q", r.status, r.errorDetail())
	}
	if r := e.do(http.MethodDelete, "/fleets/vehicles/WBA5R1C51KAJ11111", tok, "", nil); r.status != http.StatusNotFound {
		t.Errorf("delete unknown: HTTP %d", r.status)
	}
	if r := e.do(http.MethodGet, "/fleets/vehicles/WBA5R1C51KAJ11111", tok, "", nil); r.status != http.StatusNotFound || r.errorDetail() == "" {
		t.Errorf("get unknown: HTTP %d %s", r.status, r.body)
	}

	// Mercedes-Benz odometer 0 does not match the vehicle.
	odo0 := map[string]any{"vin": mbVIN, "brand": "mercedes-benz", "control_measures": map[string]any{"odometer": map[string]any{"value": 0, "unit": "kilometers"}}}
	e.add(tok, odo0)
	e.clock.Add(settled)
	if v := e.vehicle(tok, mbVIN); v.Status != "rejected" || !strings.Contains(v.Changelog[len(v.Changelog)-1].Reason, "odometer") {
		t.Errorf("mercedes odometer 0: %+v", v)
	}
}

func TestAddRowErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	e.add(tok, row(bmwVIN, "bmw"))
	odo := func(value any, unit string) map[string]any {
		return map[string]any{"vin": "W1KZF8DB1LA777874", "brand": "mercedes-benz", "control_measures": map[string]any{"odometer": map[string]any{"value": value, "unit": unit}}}
	}
	res := e.add(tok,
		row("W1KZF8DB1LA123874", "mercedes-benz"), // 0: no odometer
		odo(55271, "kilometers"),                  // 1: ok
		row("WBA5R1C51KAJ9812", "bmw"),            // 2: 16 chars
		row("WBA5R1C51KAJ9812O", "bmw"),           // 3: O
		row("WBA5R1C51KAJ98124", "trabant"),       // 4: brand
		row(bmwVIN, "bmw"),                        // 5: already pending
		row("1HMSJBPPO6X2VVVP7", "sandbox"),       // 6: emulator VIN with O: ok for sandbox
		row("5YJ3E1EA6KF123999", "tesla"),         // 7: ok
		row("5YJ3E1EA6KF123999", "tesla"),         // 8: duplicate in request
		odo(12.5, "kilometers"),                   // 9: fraction
		odo(10, "furlongs"),                       // 10: unit
	)
	want := []struct{ status, desc string }{
		{"error", "control_measures.odometer is required for mercedes-benz"},
		{"pending", ""},
		{"error", "17 character"},
		{"error", "never I, O or Q"},
		{"error", "brand is invalid"},
		{"error", "already in the fleet"},
		{"pending", ""},
		{"pending", ""},
		{"error", "more than once"},
		{"error", "integer"},
		{"error", "kilometers or miles"},
	}
	for i, w := range want {
		if res[i].Status != w.status || !strings.Contains(res[i].Description, w.desc) || (w.desc == "") != (res[i].Description == "") {
			t.Errorf("row %d: %+v, want %s %q", i, res[i], w.status, w.desc)
		}
	}
	// Only rows that succeeded are in the fleet (the mercedes with odometer was
	// re-sent with a fraction, which must not have touched it).
	if n := len(e.list(tok, "")); n != 4 {
		t.Errorf("fleet has %d vehicles, want 4", n)
	}

	for name, body := range map[string]string{"not json": "[", "no vehicles": `{"vehicles":[]}`} {
		r := e.do(http.MethodPost, "/fleets/vehicles", tok, "application/json", []byte(body))
		if r.status/100 != 4 || r.errorDetail() == "" {
			t.Errorf("%s: HTTP %d %s", name, r.status, r.body)
		}
	}
}

func TestEligibility(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	type elig struct {
		VIN                string   `json:"vin"`
		Eligible           bool     `json:"eligible"`
		DataDelivery       []string `json:"data_delivery"`
		ConnectivityStatus string   `json:"connectivity_status"`
	}
	check := func(v, brand string) elig {
		t.Helper()
		r := e.doJSON(http.MethodPost, "/eligibility", tok, map[string]string{"vin": v, "brand": brand})
		if r.status != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", v, r.status, r.body)
		}
		var out elig
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := check("WBA5R1C51KAJ98124", "bmw"); !got.Eligible || got.ConnectivityStatus != "activated" || strings.Join(got.DataDelivery, ",") != "pull,push" || got.VIN != "WBA5R1C51KAJ98124" {
		t.Errorf("bmw: %+v", got)
	}
	if got := check("W1KZF8DB1LA123873", "mercedes-benz"); !got.Eligible || got.ConnectivityStatus != "deactivated" || strings.Join(got.DataDelivery, ",") != "push" {
		t.Errorf("mercedes odd: %+v", got)
	}
	if got := check("WBA5R1C51KAJ98000", "bmw"); got.Eligible || got.ConnectivityStatus != "unknown" || got.DataDelivery == nil || len(got.DataDelivery) != 0 {
		t.Errorf("000: %+v", got)
	}
	for _, bad := range []map[string]string{{"vin": "short", "brand": "bmw"}, {"vin": "WBA5R1C51KAJ98124", "brand": "trabant"}} {
		if r := e.doJSON(http.MethodPost, "/eligibility", tok, bad); r.status != http.StatusUnprocessableEntity || r.errorDetail() == "" {
			t.Errorf("%v: HTTP %d", bad, r.status)
		}
	}
}

// The documented limit, 60 calls a minute, is on GET /fleets/vehicles/{vin}
// alone: the list, adds and deletes do not count.
func TestRateLimit(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	e.add(tok, row(bmwVIN, "bmw"))
	get := "/fleets/vehicles/" + bmwVIN
	for i := range 60 {
		if r := e.do(http.MethodGet, get, tok, "", nil); r.status != http.StatusOK {
			t.Fatalf("request %d: HTTP %d", i+1, r.status)
		}
		e.clock.Add(500 * time.Millisecond)
	}
	for range 100 {
		if r := e.do(http.MethodGet, "/fleets/vehicles", tok, "", nil); r.status != http.StatusOK {
			t.Fatalf("list: HTTP %d: the list has no limit", r.status)
		}
	}
	// 60 requests in the last 30 s: a new token does not reset the budget.
	r := e.do(http.MethodGet, get, e.token(), "", nil)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("request 61: HTTP %d, want 429", r.status)
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs != 30 {
		t.Errorf("Retry-After %q, want 30", r.header.Get("Retry-After"))
	}
	if !strings.Contains(r.errorDetail(), "30 seconds") {
		t.Errorf("detail %q does not name the wait", r.errorDetail())
	}
	e.clock.Add(30 * time.Second)
	if r := e.do(http.MethodGet, get, tok, "", nil); r.status != http.StatusOK {
		t.Errorf("after the window: HTTP %d", r.status)
	}
}

func TestListFilter(t *testing.T) {
	e := newEnv(t)
	e.sim.Seed(fleetsim.DefaultFleet(e.clock.Now()))
	tok := e.token()
	all := e.list(tok, "")
	count := func(pred func(vehicle) bool) int {
		n := 0
		for _, v := range all {
			if pred(v) {
				n++
			}
		}
		return n
	}
	cases := []struct {
		filter string
		want   int
	}{
		{`{"status":{"operator":"eq","value":"approved"}}`, count(func(v vehicle) bool { return v.Status == "approved" })},
		{`{"brand":{"operator":"eq","value":"bmw"}}`, 1},
		{`{"vin":{"operator":"eq","value":"1FTFW1E57MFA12345"}}`, 1},
		{`{"status":{"operator":"neq","value":"approved"}}`, count(func(v vehicle) bool { return v.Status != "approved" })},
		{`{"brand":{"operator":"in","value":["bmw","ford"]},"status":"approved"}`, 2},
		{`{"status":["revoked","canceled"]}`, 2},
	}
	for _, c := range cases {
		if got := len(e.list(tok, c.filter)); got != c.want || c.want == 0 {
			t.Errorf("%s: %d vehicles, want %d", c.filter, got, c.want)
		}
	}
	for _, bad := range []string{`{`, `{"color":"red"}`, `{"status":{"operator":"like","value":"a"}}`, `{"status":{"operator":"eq","value":1}}`, `[]`} {
		r := e.do(http.MethodGet, "/fleets/vehicles?filter="+urlQueryEscape(bad), tok, "", nil)
		if r.status != http.StatusBadRequest || r.errorDetail() == "" {
			t.Errorf("%s: HTTP %d %s", bad, r.status, r.body)
		}
	}
}

func TestDefaultFleetCoversEveryState(t *testing.T) {
	e := newEnv(t)
	e.sim.Seed(fleetsim.DefaultFleet(e.clock.Now()))
	tok := e.token()
	byStatus := map[string]int{}
	northAmericanOK := 0
	for _, v := range e.list(tok, "") {
		byStatus[v.Status]++
		if len(v.Changelog) == 0 || v.Changelog[len(v.Changelog)-1].Status != v.Status {
			t.Errorf("%s: changelog %s does not end in %s", v.VIN, statuses(v), v.Status)
		}
		if v.Brand == "sandbox" {
			continue
		}
		r, err := vin.Check(v.VIN)
		if err != nil {
			t.Errorf("%s: %v", v.VIN, err)
		}
		if v.VIN[0] >= '1' && v.VIN[0] <= '5' {
			if !r.CheckDigitOK {
				t.Errorf("%s: North American VIN with a wrong check digit", v.VIN)
			}
			northAmericanOK++
		}
		if v.Status == "rejected" && v.Changelog[len(v.Changelog)-1].Reason == "" {
			t.Errorf("%s: rejected without a reason", v.VIN)
		}
	}
	if byStatus["approved"] < 6 || northAmericanOK < 2 {
		t.Errorf("approved %d, North American %d", byStatus["approved"], northAmericanOK)
	}
	for _, s := range []string{"approved", "pending", "revoking", "revoked", "rejected", "canceling", "canceled"} {
		if byStatus[s] == 0 {
			t.Errorf("no %s vehicle in the default fleet", s)
		}
	}
	if n := len(e.sim.Approved()); n != byStatus["approved"] {
		t.Errorf("Approved() has %d, list %d", n, byStatus["approved"])
	}

	// The renault settles on its own; the emulator VIN stays pending.
	e.clock.Add(settled)
	if s := e.sim.Status("VF1RJA00X63123491"); s != fleetsim.StatusApproved {
		t.Errorf("renault: %s", s)
	}
	e.clock.Add(time.Hour)
	if s := e.sim.Status("1HMSJBPPO6X2VVVP5"); s != fleetsim.StatusPending {
		t.Errorf("held emulator vehicle: %s", s)
	}
	if s := e.sim.Status("1C4RJFAG0FC625797"); s != fleetsim.StatusRevoked {
		t.Errorf("jeep: %s", s)
	}
}

func TestLargeFleet(t *testing.T) {
	e := newEnv(t)
	fleet := fleetsim.Fleet(10_000, e.clock.Now())
	if again := fleetsim.Fleet(10_000, e.clock.Now()); again[9_999].VIN != fleet[9_999].VIN {
		t.Error("generation is not deterministic")
	}
	seen := map[string]bool{}
	for _, v := range fleet {
		if seen[v.VIN] {
			t.Fatalf("duplicate VIN %s", v.VIN)
		}
		seen[v.VIN] = true
		if v.Brand != "sandbox" && !vin.Valid(v.VIN) {
			t.Fatalf("invalid VIN %s", v.VIN)
		}
	}
	e.sim.Seed(fleet)
	tok := e.token()
	start := time.Now()
	all := e.list(tok, "")
	took := time.Since(start)
	if len(all) != 10_000 {
		t.Fatalf("listed %d", len(all))
	}
	approved := 0
	for _, v := range all {
		if v.Status == "approved" {
			approved++
		}
	}
	if approved < 8_000 {
		t.Errorf("only %d approved", approved)
	}
	t.Logf("GET /fleets/vehicles with 10,000 vehicles: %s (race detector on when -race)", took)
	if took > 3*time.Second {
		t.Errorf("listing 10,000 vehicles took %s", took)
	}
}
