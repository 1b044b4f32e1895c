package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/internal/pgtest"
)

// benchStores are the two stores as the benchmarks open them: each open is
// another process (or box) on the same database.
func benchStores(b *testing.B, f func(b *testing.B, s *testStore)) {
	b.Run("sqlite", func(b *testing.B) {
		f(b, &testStore{kind: "sqlite", path: filepath.Join(b.TempDir(), "audit.db")})
	})
	b.Run("postgres", func(b *testing.B) {
		f(b, &testStore{kind: "postgres", dsn: pgtest.DB(b)})
	})
}

// BenchmarkConcurrentAppend measures appends (one intent, one transaction,
// durable: SQLite synchronous=FULL, PostgreSQL fsync on) by 1, 4 and 16
// writers at once, each its own journal connection as separate processes
// or boxes would be, every entry signed. appends/s is the total rate.
func BenchmarkConcurrentAppend(b *testing.B) {
	benchStores(b, func(b *testing.B, s *testStore) {
		key := newTestSigner(b)
		for _, writers := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
				js := make([]*Journal, writers)
				for i := range js {
					js[i] = s.open(b, WithSigner(key))
				}
				ctx := context.Background()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for w, j := range js {
					n := b.N / writers
					if w < b.N%writers {
						n++
					}
					wg.Go(func() {
						for range n {
							if _, err := j.Intent(ctx, alice, ActionCommandSend, "WBA5R1C51KAJ98123", "lock_door"); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
			})
		}
	})
}

// BenchmarkVerify100k measures Verify over 100,000 signed entries: the
// chain alone, and the chain with every signature checked (--key).
func BenchmarkVerify100k(b *testing.B) {
	benchStores(b, func(b *testing.B, s *testStore) {
		key := newTestSigner(b)
		j := s.open(b, WithSigner(key))
		ctx := context.Background()
		const total, batch = 100_000, 10_000
		vins := make([]string, batch)
		what := make([]string, batch)
		for i := range vins {
			vins[i], what[i] = "WBA5R1C51KAJ98123", "brand bmw"
		}
		for range total / batch {
			if _, err := j.intents(ctx, alice, ActionClearanceAdd, vins, what); err != nil {
				b.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name string
			o    VerifyOptions
		}{{"chain", VerifyOptions{}}, {"signatures", VerifyOptions{Keys: []ed25519.PublicKey{key.Public()}}}} {
			b.Run(tc.name, func(b *testing.B) {
				for b.Loop() {
					rep, err := j.Verify(ctx, tc.o)
					if err != nil || !rep.OK || rep.Entries != total {
						b.Fatal(rep, err)
					}
				}
			})
		}
	})
}
