package fleet

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// sharedListTimeout bounds the one upstream List that several callers wait
// for: it runs detached from the caller that happened to start it, so that
// caller leaving does not fail the others.
const sharedListTimeout = 30 * time.Second

// SharedLister is a Client whose unfiltered List is shared: concurrent
// callers wait for one upstream call, and its answer (or error) serves every
// caller for ttl. Many console sessions polling the clearance list then cost
// the API what one does (the documented limit is 60 calls a minute). Add and
// Delete go through and drop the cached list, so the next List shows their
// effect. Filtered lists and everything else go straight to the Client.
type SharedLister struct {
	*Client
	ttl time.Duration
	now func() time.Time

	// source replaces the Client's List for the unfiltered list, and
	// changed is told of every Add and Delete (Share).
	source  func(ctx context.Context) ([]Vehicle, error)
	changed func()

	group singleflight.Group
	mu    sync.Mutex
	gen   uint64 // bumped by Add and Delete: a list started before is not cached
	at    time.Time
	list  []Vehicle
	err   error
	valid bool
}

// NewSharedLister wraps c; ttl ≤ 0 means 10 s (the default poll interval).
func NewSharedLister(c *Client, ttl time.Duration) *SharedLister {
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	return &SharedLister{Client: c, ttl: ttl, now: time.Now}
}

// Share makes s take the unfiltered list from source instead of calling
// the API itself, and tell changed after each Add and Delete. Several ops
// boxes use it to poll once for all: source reads the list one elected box
// fetched, and changed asks that box to fetch again. Call it before the
// first List.
func (s *SharedLister) Share(source func(ctx context.Context) ([]Vehicle, error), changed func()) {
	s.source, s.changed = source, changed
}

// List returns the clearance list, from the cache when it is younger than
// ttl. Each caller gets its own copy.
func (s *SharedLister) List(ctx context.Context, f *Filter) ([]Vehicle, error) {
	if q, _ := f.query(); q != "" {
		return s.Client.List(ctx, f)
	}
	s.mu.Lock()
	if s.valid && s.now().Sub(s.at) < s.ttl {
		vs, err := s.list, s.err
		s.mu.Unlock()
		return cloneVehicles(vs), err
	}
	gen := s.gen
	s.mu.Unlock()

	ch := s.group.DoChan("list", func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedListTimeout)
		defer cancel()
		var vs []Vehicle
		var err error
		if s.source != nil {
			vs, err = s.source(lctx)
		} else {
			vs, err = s.Client.List(lctx, nil)
		}
		s.mu.Lock()
		if s.gen == gen {
			s.list, s.err, s.at, s.valid = vs, err, s.now(), true
		}
		s.mu.Unlock()
		return vs, err
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		vs, _ := r.Val.([]Vehicle)
		return cloneVehicles(vs), r.Err
	}
}

// Add adds vehicles and drops the cached list.
func (s *SharedLister) Add(ctx context.Context, vs []NewVehicle) ([]AddResult, error) {
	defer s.invalidate()
	return s.Client.Add(ctx, vs)
}

// Delete removes a clearance and drops the cached list.
func (s *SharedLister) Delete(ctx context.Context, v string) error {
	defer s.invalidate()
	return s.Client.Delete(ctx, v)
}

func (s *SharedLister) invalidate() {
	if s.changed != nil {
		s.changed()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.valid = false
	s.gen++
	// A list already in flight may predate the change: the next caller must
	// not join it.
	s.group.Forget("list")
}

// cloneVehicles copies vs deeply enough that callers may sort and edit
// their copy: the cached list is shared between sessions.
func cloneVehicles(vs []Vehicle) []Vehicle {
	if vs == nil {
		return nil
	}
	out := make([]Vehicle, len(vs))
	for i, v := range vs {
		v.Changelog = slices.Clone(v.Changelog)
		v.Tags = maps.Clone(v.Tags)
		out[i] = v
	}
	return out
}
