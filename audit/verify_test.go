package audit

import (
	"context"
	"strings"
	"testing"
)

// chain writes five entries: intents 1, 3, 5 and outcomes 2, 4.
func chain(t *testing.T) (*Journal, string) {
	t.Helper()
	j, path := openTemp(t)
	for i := range 3 {
		seq := intent(t, j, ActionCommandSend, "WBA5R1C51KAJ98123", "lock_door")
		if i < 2 {
			outcome(t, j, seq, "Pending id x", "")
		}
	}
	return j, path
}

func verify(t *testing.T, j *Journal) VerifyReport {
	t.Helper()
	rep, err := j.Verify(context.Background(), VerifyOptions{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// tamper runs SQL against the journal's file with the append-only triggers
// out of the way, as a determined editor would.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db := rawDB(t, path)
	mustExec(t, db, "DROP TRIGGER entries_no_update")
	mustExec(t, db, "DROP TRIGGER entries_no_delete")
	for _, s := range stmts {
		mustExec(t, db, s)
	}
}

func TestJournalVerify(t *testing.T) {
	t.Run("intact", func(t *testing.T) {
		j, _ := chain(t)
		if rep := verify(t, j); !rep.OK || rep.Entries != 5 || rep.FirstBad != 0 {
			t.Fatalf("good chain: %+v", rep)
		}
	})
	t.Run("empty", func(t *testing.T) {
		j, _ := openTemp(t)
		if rep := verify(t, j); !rep.OK || rep.Entries != 0 {
			t.Fatalf("empty journal: %+v", rep)
		}
	})
	for _, tc := range []struct {
		name  string
		stmts []string
		bad   int64
		want  string
	}{
		{"edited VIN", []string{"UPDATE entries SET vin = 'WBA5R1C51KAJ00000' WHERE seq = 3"}, 3, "entry 3 was altered"},
		{"edited outcome", []string{"UPDATE entries SET outcome = 'Success' WHERE seq = 4"}, 4, "entry 4 was altered"},
		{"deleted middle row", []string{"DELETE FROM entries WHERE seq = 2"}, 2, "entry 2 is missing"},
		{"deleted first row", []string{"DELETE FROM entries WHERE seq = 1"}, 1, "entry 1 is missing"},
		{"deleted tail", []string{"DELETE FROM entries WHERE seq >= 4"}, 4, "entries 4 to 5 are missing"},
		{"deleted tail and head", []string{"DELETE FROM entries WHERE seq = 5", "DELETE FROM head"}, 5, "head record is missing"},
		{"reordered", []string{
			"UPDATE entries SET seq = 100 WHERE seq = 2",
			"UPDATE entries SET seq = 2 WHERE seq = 3",
			"UPDATE entries SET seq = 3 WHERE seq = 100",
		}, 2, "entry 2 was altered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, path := chain(t)
			tamper(t, path, tc.stmts...)
			rep := verify(t, j)
			if rep.OK || rep.FirstBad != tc.bad || !strings.Contains(rep.Reason, tc.want) {
				t.Fatalf("got %+v, want first bad %d (%q)", rep, tc.bad, tc.want)
			}
		})
	}

	t.Run("rewritten with a fresh hash", func(t *testing.T) {
		j, path := chain(t)
		// A forger who knows the encoding rehashes the row they changed;
		// the next entry's link still points at the original.
		db := rawDB(t, path)
		r, err := scanRow(db.QueryRow("SELECT " + entryColumns + " FROM entries WHERE seq = 3"))
		if err != nil {
			t.Fatal(err)
		}
		r.vin = "WBA5R1C51KAJ00000"
		r.hash = r.computeHash()
		tamper(t, path, "UPDATE entries SET vin = '"+r.vin+"', hash = '"+r.hash+"' WHERE seq = 3")
		rep := verify(t, j)
		if rep.OK || rep.FirstBad != 3 || !strings.Contains(rep.Reason, "entry 3 was rewritten") {
			t.Fatalf("got %+v", rep)
		}
	})

	t.Run("appends after a deleted tail stay detectable", func(t *testing.T) {
		j, path := chain(t)
		tamper(t, path, "DELETE FROM entries WHERE seq = 5")
		intent(t, j, ActionClearanceRevoke, "WBA5R1C51KAJ98123", "")
		rep := verify(t, j)
		if rep.OK || rep.FirstBad != 5 || !strings.Contains(rep.Reason, "entry 5 is missing") {
			t.Fatalf("got %+v", rep)
		}
	})
}

func TestJournalHashCoversEveryField(t *testing.T) {
	base := row{seq: 1, at: "2025-01-01T00:00:00.000000000Z", kind: "local", user: "a", key: "k", role: "r",
		action: "command.send", vin: "V", command: "c", commandID: "i", phase: "intent", ref: 0, outcome: "o", prevHash: "p"}
	h := base.computeHash()
	mutations := []func(*row){
		func(r *row) { r.seq = 2 }, func(r *row) { r.at = "2025-01-01T00:00:00.000000001Z" },
		func(r *row) { r.kind = "ssh" }, func(r *row) { r.user = "b" }, func(r *row) { r.key = "K" },
		func(r *row) { r.role = "R" }, func(r *row) { r.action = "command.confirm" }, func(r *row) { r.vin = "W" },
		func(r *row) { r.command = "d" }, func(r *row) { r.commandID = "j" }, func(r *row) { r.phase = "outcome" },
		func(r *row) { r.ref = 1 }, func(r *row) { r.outcome = "x" }, func(r *row) { r.prevHash = "q" },
		func(r *row) { r.detail = `{"reason":"x"}` },
		// Moving a byte from one field to its neighbour must change the hash.
		func(r *row) { r.user, r.key = "ak", "" },
	}
	for i, m := range mutations {
		r := base
		m(&r)
		if r.computeHash() == h {
			t.Errorf("mutation %d does not change the hash", i)
		}
	}
}
