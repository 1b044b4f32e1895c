package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// ExportFormat names the export's layout in its first line.
const ExportFormat = "fleetdeck-audit-export/1"

// ExportHeader is an export's first line: what it is and the head of the
// chain it holds. The head alone, kept where the journal's writers cannot
// reach, later proves the journal was not rewritten or cut back before it
// (`audit verify --against`).
type ExportHeader struct {
	Format     string    `json:"format"`
	Journal    string    `json:"journal"`
	ExportedAt time.Time `json:"exported_at"`
	Head       Head      `json:"head"`
	Entries    int64     `json:"entries"`
}

// Export writes the whole chain as NDJSON: the header, then every entry
// (hashes and signatures included) oldest first, all read from one
// snapshot. It returns the header written.
func (j *Journal) Export(ctx context.Context, w io.Writer) (ExportHeader, error) {
	tx, err := j.st.BeginRead(ctx)
	if err != nil {
		return ExportHeader{}, fmt.Errorf("export audit journal: %w", err)
	}
	defer tx.Rollback()
	h := ExportHeader{Format: ExportFormat, Journal: j.Name(), ExportedAt: j.now().UTC()}
	if h.Head, err = readHead(ctx, tx); err != nil {
		return ExportHeader{}, fmt.Errorf("export audit journal: head: %w", err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM entries").Scan(&h.Entries); err != nil {
		return ExportHeader{}, fmt.Errorf("export audit journal: %w", err)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return ExportHeader{}, fmt.Errorf("export audit journal: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+entryColumns+" FROM entries ORDER BY seq")
	if err != nil {
		return ExportHeader{}, fmt.Errorf("export audit journal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return ExportHeader{}, fmt.Errorf("export audit journal: %w", err)
		}
		if err := enc.Encode(r.entry()); err != nil {
			return ExportHeader{}, fmt.Errorf("export audit journal: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return ExportHeader{}, fmt.Errorf("export audit journal: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return ExportHeader{}, fmt.Errorf("export audit journal: %w", err)
	}
	return h, nil
}

// maxHeaderLine bounds the first line ReadExportHeader reads.
const maxHeaderLine = 64 << 10

// ReadExportHeader reads an export's first line.
func ReadExportHeader(r io.Reader) (ExportHeader, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxHeaderLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return ExportHeader{}, fmt.Errorf("read audit export: %w", err)
		}
		return ExportHeader{}, errors.New("read audit export: empty")
	}
	var h ExportHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format != ExportFormat {
		return ExportHeader{}, fmt.Errorf("read audit export: the first line is not a %s header", ExportFormat)
	}
	return h, nil
}

// ErrNotEmpty is returned by CopyTo when the target journal has entries.
var ErrNotEmpty = errors.New("the target journal is not empty")

// CopyTo copies every entry of j, as it is (Seqs, times, hashes and
// signatures unchanged), into dst, which must be empty, in one transaction
// under dst's writer lock, and moves dst's head to j's. It copies what one
// snapshot of j holds; verify both before and after (`audit migrate` does).
func (j *Journal) CopyTo(ctx context.Context, dst *Journal) (int, error) {
	src, err := j.st.BeginRead(ctx)
	if err != nil {
		return 0, fmt.Errorf("copy audit journal: %w", err)
	}
	defer src.Rollback()
	head, err := readHead(ctx, src)
	if err != nil {
		return 0, fmt.Errorf("copy audit journal: head: %w", err)
	}
	rows, err := src.QueryContext(ctx, "SELECT "+entryColumns+" FROM entries ORDER BY seq")
	if err != nil {
		return 0, fmt.Errorf("copy audit journal: %w", err)
	}
	defer rows.Close()
	var all []row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return 0, fmt.Errorf("copy audit journal: %w", err)
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("copy audit journal: %w", err)
	}

	dst.mu.Lock()
	defer dst.mu.Unlock()
	tx, err := dst.st.BeginAppend(ctx)
	if err != nil {
		return 0, fmt.Errorf("copy audit journal to %s: %w", dst.Name(), err)
	}
	defer tx.Rollback()
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM entries").Scan(&n); err != nil {
		return 0, fmt.Errorf("copy audit journal to %s: %w", dst.Name(), err)
	}
	if h, err := readHead(ctx, tx); err != nil || n > 0 || h != (Head{}) {
		if err != nil {
			return 0, fmt.Errorf("copy audit journal to %s: %w", dst.Name(), err)
		}
		return 0, fmt.Errorf("copy audit journal to %s: %w (%d entries)", dst.Name(), ErrNotEmpty, n)
	}
	if err := dst.insertRows(ctx, tx, all); err != nil {
		return 0, fmt.Errorf("copy audit journal to %s: %w", dst.Name(), err)
	}
	// The source's head may stand beyond its last entry (a cut tail):
	// carry it over, so the copy fails Verify exactly as the original does.
	if head != (Head{}) {
		if _, err := tx.ExecContext(ctx, dst.q(`INSERT INTO head (id, seq, hash) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`), head.Seq, head.Hash); err != nil {
			return 0, fmt.Errorf("copy audit journal to %s: %w", dst.Name(), err)
		}
	}
	if err := dst.st.Announced(ctx, tx, head.Seq); err != nil {
		return 0, fmt.Errorf("copy audit journal to %s: %w", dst.Name(), err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("copy audit journal to %s: %w", dst.Name(), err)
	}
	dst.changes.notify()
	return len(all), nil
}
