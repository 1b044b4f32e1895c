package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Boxes that share a PostgreSQL journal also share what they poll from
// rate-limited APIs: one box, elected by a session-level advisory lock,
// fetches and stores the result; every box reads the stored copy. The lock
// belongs to the elected box's connection, so when that box dies (or its
// connection does), PostgreSQL releases it and another box takes over
// within SharedListOptions.Retry.

// Channels: a stored list is announced on the first; a box that changed
// the list upstream asks the poller for a fetch now on the second.
const (
	pgSharedChannel = "fleetdeck_shared"
	pgRefreshPrefix = "fleetdeck_refresh_"
)

// SharedListOptions tune a SharedList.
type SharedListOptions struct {
	Every time.Duration // the poller fetches this often (required)
	// Retry is how often a box that is not the poller tries to become it;
	// it bounds how long the list goes unrefreshed after the poller dies.
	// Default 2 s.
	Retry time.Duration
	// MinGap bounds refreshes asked for by Refresh (default 1 s).
	MinGap time.Duration
	Box    string // this box's name, stored with what it fetched
	Logger *slog.Logger
}

// SharedList is a value one elected box fetches for every box on one
// PostgreSQL journal. Make one with Journal.SharedList; Run elects and
// polls, Latest reads.
type SharedList struct {
	st      *pgStore
	name    string
	o       SharedListOptions
	key     int64
	leading atomic.Bool
	changes *hub
}

// SharedSnapshot is a stored value: the body the poller fetched (or the
// last good one when FetchErr says the latest fetch failed), when, and by
// which box.
type SharedSnapshot struct {
	Body      []byte
	FetchErr  string
	FetchedAt time.Time
	FetchedBy string
}

// ErrNotShared is returned by Journal.SharedList for a journal that other
// boxes cannot reach (SQLite).
var ErrNotShared = errors.New("the audit journal is not shared (SQLite): nothing to share a poll through")

// SharedList returns the list called name shared through the journal's
// PostgreSQL database, or ErrNotShared.
func (j *Journal) SharedList(name string, o SharedListOptions) (*SharedList, error) {
	st, ok := j.st.(*pgStore)
	if !ok {
		return nil, ErrNotShared
	}
	if o.Every <= 0 {
		return nil, errors.New("shared list: Every must be positive")
	}
	if o.Retry <= 0 {
		o.Retry = 2 * time.Second
	}
	if o.MinGap <= 0 {
		o.MinGap = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := fnv.New64a()
	h.Write([]byte("fleetdeck-shared-list/" + name))
	s := &SharedList{st: st, name: name, o: o, key: int64(h.Sum64())}
	s.changes = newHub(func(ctx context.Context, changed func()) {
		st.listenOn(ctx, pgSharedChannel, changed)
	})
	return s, nil
}

// Leading reports whether this box is the poller now.
func (s *SharedList) Leading() bool { return s.leading.Load() }

// Changes signals (coalesced) whenever any box stores a new value.
func (s *SharedList) Changes(ctx context.Context) <-chan struct{} { return s.changes.subscribe(ctx) }

// Latest reads the stored value; ok is false when none was stored yet.
func (s *SharedList) Latest(ctx context.Context) (snap SharedSnapshot, ok bool, err error) {
	err = s.st.db.QueryRowContext(ctx, `SELECT body, fetch_err, fetched_at, fetched_by FROM shared_lists WHERE name = $1`, s.name).
		Scan(&snap.Body, &snap.FetchErr, &snap.FetchedAt, &snap.FetchedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return SharedSnapshot{}, false, nil
	}
	if err != nil {
		return SharedSnapshot{}, false, fmt.Errorf("read the shared %s: %w", s.name, err)
	}
	return snap, true, nil
}

// Refresh asks the poller, whichever box it is, to fetch now (after a
// change made upstream), at most once per MinGap.
func (s *SharedList) Refresh(ctx context.Context) error {
	_, err := s.st.db.ExecContext(ctx, "SELECT pg_notify($1, '')", s.refreshChannel())
	return err
}

func (s *SharedList) refreshChannel() string {
	return fmt.Sprintf("%s%x", pgRefreshPrefix, uint64(s.key))
}

// Run takes part in the election until ctx ends: while this box holds the
// lock it fetches every Every (and on Refresh) and stores what fetch
// returns; otherwise it tries for the lock every Retry.
func (s *SharedList) Run(ctx context.Context, fetch func(context.Context) ([]byte, error)) {
	for ctx.Err() == nil {
		err := s.campaign(ctx, fetch)
		s.leading.Store(false)
		if err != nil && ctx.Err() == nil {
			s.o.Logger.Warn("shared poll: connection lost; trying again", "list", s.name, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.o.Retry):
		}
	}
}

// campaign holds one connection: it waits for the lock, then polls while
// the connection (and with it the lock) lasts.
func (s *SharedList) campaign(ctx context.Context, fetch func(context.Context) ([]byte, error)) error {
	conn, err := pgx.ConnectConfig(ctx, s.st.cfg)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx) // releases the lock
	}()
	for {
		var got bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", s.key).Scan(&got); err != nil {
			return err
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.o.Retry):
		}
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.refreshChannel()}.Sanitize()); err != nil {
		return err
	}
	s.leading.Store(true)
	s.o.Logger.Info("shared poll: this box polls for all", "list", s.name, "box", s.o.Box)
	next := time.Now()
	var last time.Time
	for {
		if !time.Now().Before(next) {
			// Still ours? A connection that broke took the lock with it.
			if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
				return err
			}
			s.store(ctx, fetch)
			last = time.Now()
			next = last.Add(s.o.Every)
		}
		wctx, cancel := context.WithDeadline(ctx, next)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil: // a refresh was asked for
			next = last.Add(s.o.MinGap)
		case !errors.Is(err, context.DeadlineExceeded) && !pgconnTimeout(err):
			return err
		}
	}
}

// pgconnTimeout recognises the error WaitForNotification returns when its
// deadline passes.
func pgconnTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// store fetches and writes the value; a failed fetch keeps the last good
// body and records the error beside it.
func (s *SharedList) store(ctx context.Context, fetch func(context.Context) ([]byte, error)) {
	body, ferr := fetch(ctx)
	if ctx.Err() != nil {
		return
	}
	msg := ""
	if ferr != nil {
		msg = ferr.Error()
	}
	var err error
	if ferr == nil {
		_, err = s.st.db.ExecContext(ctx, `INSERT INTO shared_lists (name, body, fetch_err, fetched_at, fetched_by)
			VALUES ($1, $2, '', now(), $3)
			ON CONFLICT (name) DO UPDATE SET body = excluded.body, fetch_err = '', fetched_at = excluded.fetched_at, fetched_by = excluded.fetched_by`,
			s.name, body, s.o.Box)
	} else {
		_, err = s.st.db.ExecContext(ctx, `INSERT INTO shared_lists (name, body, fetch_err, fetched_at, fetched_by)
			VALUES ($1, ''::bytea, $2, now(), $3)
			ON CONFLICT (name) DO UPDATE SET fetch_err = excluded.fetch_err, fetched_at = excluded.fetched_at, fetched_by = excluded.fetched_by`,
			s.name, msg, s.o.Box)
	}
	if err == nil {
		_, err = s.st.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", pgSharedChannel, s.name)
	}
	if err != nil && ctx.Err() == nil {
		s.o.Logger.Warn("shared poll: store", "list", s.name, "err", err)
	}
}
