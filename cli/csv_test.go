package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

func parseCSV(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, s)
	}
	return recs
}

// vehicles list --csv holds what --json holds, row for row.
func TestVehiclesListCSV(t *testing.T) {
	isolate(t)
	_, cfg := startSandboxStepping(t, time.Minute)
	r := run(t, "", "--config", cfg, "vehicles", "list", "--json")
	var vs []vehicleJSON
	if err := json.Unmarshal([]byte(r.stdout), &vs); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", "--config", cfg, "vehicles", "list", "--csv")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	recs := parseCSV(t, r.stdout)
	if !slices.Equal(recs[0], []string{"vin", "brand", "status", "last_change", "tags"}) || len(recs) != len(vs)+1 {
		t.Fatalf("header %q, %d rows for %d vehicles", recs[0], len(recs)-1, len(vs))
	}
	for i, v := range vs {
		row := recs[i+1]
		var last time.Time
		for _, c := range v.Changelog {
			if c.Timestamp.After(last) {
				last = c.Timestamp
			}
		}
		at, err := time.Parse(time.RFC3339, row[3])
		if row[0] != v.VIN || row[1] != v.Brand || row[2] != v.Status || err != nil || !at.Equal(last.Truncate(time.Second)) {
			t.Errorf("row %d = %q, want %s %s %s %s", i, row, v.VIN, v.Brand, v.Status, last)
		}
	}
	r = run(t, "", "--config", cfg, "vehicles", "list", "--csv", "--status", "pending", "--brand", "renault")
	if recs := parseCSV(t, r.stdout); len(recs) != 2 || recs[1][1] != "renault" || recs[1][2] != "pending" {
		t.Errorf("filtered CSV: %q", recs)
	}
}

func TestAuditCSV(t *testing.T) {
	isolate(t)
	path := defaultJournal(t)
	writeJournal(t, path)
	r := runAudit(t, "audit", "--csv")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	recs := parseCSV(t, r.stdout)
	want := []string{"seq", "at", "actor_kind", "actor_user", "actor_key", "actor_role", "action", "vin", "command", "command_id", "result", "outcome_known"}
	if !slices.Equal(recs[0], want) || len(recs) != 3 {
		t.Fatalf("audit --csv: %q", recs)
	}
	add, confirm := recs[1], recs[2]
	if add[2] != "local" || add[3] != "alice" || add[6] != "clearance.add" || add[7] != "W1KZF8DB1LA999874" ||
		add[8] != "brand mercedes-benz" || add[10] != "pending" || add[11] != "true" {
		t.Errorf("add row %q", add)
	}
	if confirm[2] != "ssh" || confirm[3] != "bob" || confirm[4] != "SHA256:Zm9vYmFy" || confirm[5] != "operator" ||
		confirm[6] != "command.confirm" || confirm[10] != "outcome unknown" || confirm[11] != "false" {
		t.Errorf("confirm row %q", confirm)
	}
	if _, err := time.Parse(time.RFC3339, add[1]); err != nil {
		t.Errorf("time %q: %v", add[1], err)
	}

	// No journal yet: the header alone, still CSV.
	isolate(t)
	r = runAudit(t, "audit", "--csv")
	if recs := parseCSV(t, r.stdout); r.code != 0 || len(recs) != 1 || !slices.Equal(recs[0], want) {
		t.Errorf("no journal: exit %d %q", r.code, r.stdout)
	}
}

// What a server or a hand-edited journal puts in a cell stays data: quoted
// where CSV needs it, terminal controls stripped, formulas defused.
func TestCSVCells(t *testing.T) {
	var b bytes.Buffer
	vs := []fleet.Vehicle{{
		VIN: "WBA5R1C51KAJ98123", Brand: "=HYPERLINK(\"http://x\")", Status: "approved",
		Tags: map[string]string{"fleet": "north, \"east\"", "note": "a\x1b[2Jb"},
	}, {VIN: "WBA5R1C51KAJ98124", Brand: "@SUM(1)", Status: "+1"}, {VIN: "WBA5R1C51KAJ98125", Brand: "-2", Status: "pending"}}
	if err := writeVehiclesCSV(&b, vs); err != nil {
		t.Fatal(err)
	}
	recs := parseCSV(t, b.String())
	if got := recs[1][1]; got != `'=HYPERLINK("http://x")` {
		t.Errorf("formula cell: %q", got)
	}
	if got := recs[1][4]; got != `fleet=north, "east";note=ab` {
		t.Errorf("tags cell: %q", got)
	}
	if recs[1][3] != "" {
		t.Errorf("no changelog, last_change %q", recs[1][3])
	}
	if recs[2][1] != "'@SUM(1)" || recs[2][2] != "'+1" || recs[3][1] != "'-2" {
		t.Errorf("formula prefixes: %q %q", recs[2], recs[3])
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Error("an escape sequence reached the CSV")
	}
	if err := writeCSV(&b, []string{"a", "b"}, [][]string{{"1"}}); err == nil {
		t.Error("a short row was written")
	}
}
