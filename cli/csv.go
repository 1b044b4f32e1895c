package cli

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/csvsafe"
)

// writeCSV is the --csv output of every command: RFC 4180 (encoding/csv,
// quoted where needed, \n line ends), a header row, then the rows, each
// cell through csvsafe.Cell (terminal-safe, formulas defused), as the
// console's export writes them.
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	cell := make([]string, len(header))
	for _, r := range rows {
		if len(r) != len(header) {
			return fmt.Errorf("write CSV: a row of %d cells under %d columns", len(r), len(header))
		}
		for i, c := range r {
			cell[i] = csvsafe.Cell(c)
		}
		if err := cw.Write(cell); err != nil {
			return fmt.Errorf("write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

// writeVehiclesCSV is `vehicles list --csv`: the table's columns, tags as
// key=value pairs joined by ';'.
func writeVehiclesCSV(w io.Writer, vs []fleet.Vehicle) error {
	rows := make([][]string, 0, len(vs))
	for _, v := range vs {
		rows = append(rows, []string{v.VIN, v.Brand, string(v.Status), csvsafe.Time(v.LastChange()), fleet.TagText(v.Tags, ";")})
	}
	return writeCSV(w, []string{"vin", "brand", "status", "last_change", "tags"}, rows)
}

// writeAuditCSV is `audit --csv`: one row per action (its intent), with
// who did it and how it ended, as the table shows it.
func writeAuditCSV(w io.Writer, recs []audit.Record) error {
	rows := make([][]string, 0, len(recs))
	for _, r := range recs {
		rows = append(rows, []string{
			strconv.FormatInt(r.Seq, 10), csvsafe.Time(r.At), r.Actor.Kind, r.Actor.User, r.Actor.KeyFingerprint, r.Actor.Role,
			string(r.Action), r.VIN, r.Command, r.AcceptedID(), r.Result(), strconv.FormatBool(r.Known()),
		})
	}
	return writeCSV(w, []string{"seq", "at", "actor_kind", "actor_user", "actor_key", "actor_role",
		"action", "vin", "command", "command_id", "result", "outcome_known"}, rows)
}
