package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// VerifyOptions adds proofs beyond the hash chain.
type VerifyOptions struct {
	// Keys are the public keys whose signatures count. With any, every
	// entry after the first signed one must be signed by one of them, and
	// the chain must hold a signed entry.
	Keys []ed25519.PublicKey
	// Anchors are heads kept elsewhere (audit export): each must still be
	// an entry of the chain, with the same hash.
	Anchors []Head
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Entries  int    `json:"entries"`
	OK       bool   `json:"ok"`
	FirstBad int64  `json:"first_bad,omitempty"` // the Seq of the first entry that fails; 0 when OK
	Reason   string `json:"reason,omitempty"`
	Head     Head   `json:"head"`
	// Signed counts signed entries; Signers names their keys. Unsigned
	// counts the entries before the first signed one (written before
	// signing began; the first signature covers them through the chain).
	Signed            int      `json:"signed"`
	Signers           []string `json:"signers,omitempty"`
	Unsigned          int      `json:"unsigned_before_first_signed,omitempty"`
	SignaturesChecked bool     `json:"signatures_checked"`
}

// Verify recomputes every entry's hash and link and checks that Seqs run
// from 1 without a gap up to the head the journal recorded last. It names
// the first bad entry: an edited row fails its own hash, a deleted one
// leaves a gap, a rewritten-and-rehashed one breaks the link of the next,
// and reordering changes Seqs, which the hashes cover. A forger who rewrites
// an entry, re-hashes every one after it and moves the head passes all of
// that; with o.Keys, such a forger fails at the first entry rewritten,
// because its signature no longer matches (only the key's holder can sign).
// The error is only for failing to read the journal; a broken chain is a
// report with OK false.
func (j *Journal) Verify(ctx context.Context, o VerifyOptions) (VerifyReport, error) {
	tx, err := j.st.BeginRead(ctx)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("verify audit journal: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT "+entryColumns+" FROM entries ORDER BY seq")
	if err != nil {
		return VerifyReport{}, fmt.Errorf("verify audit journal: %w", err)
	}
	defer rows.Close()
	keys := make(map[string]ed25519.PublicKey, len(o.Keys))
	for _, k := range o.Keys {
		keys[KeyID(k)] = k
	}
	anchors := make(map[int64]string, len(o.Anchors))
	for _, a := range o.Anchors {
		anchors[a.Seq] = a.Hash
	}
	rep := VerifyReport{OK: true, SignaturesChecked: len(keys) > 0}
	sigs := newSigChecker(keys)
	defer sigs.stop()
	fail := func(seq int64, format string, args ...any) {
		if rep.OK {
			rep.OK, rep.FirstBad, rep.Reason = false, seq, fmt.Sprintf(format, args...)
		}
	}
	var prev row // zero before the first entry: Seq 0, hash ""
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return VerifyReport{}, fmt.Errorf("verify audit journal: entry after %d: %w", prev.seq, err)
		}
		rep.Entries++
		if r.sig != "" {
			rep.Signed++
			if !slices.Contains(rep.Signers, r.signer) {
				rep.Signers = append(rep.Signers, r.signer)
			}
		} else if rep.Signed == 0 {
			rep.Unsigned++
		}
		if !rep.OK {
			continue // count the rest; the first failure is the one named
		}
		switch want := prev.seq + 1; {
		case r.seq != want && prev.seq == 0:
			fail(want, "entry %d is missing: the journal starts at entry %d", want, r.seq)
		case r.seq != want:
			fail(want, "entry %d is missing: entry %d follows entry %d", want, r.seq, prev.seq)
		case r.computeHash() != r.hash:
			fail(r.seq, "entry %d was altered: its content does not match its hash", r.seq)
		case r.prevHash != prev.hash && prev.seq == 0:
			fail(r.seq, "entry %d was altered: the first entry links to a predecessor", r.seq)
		case r.prevHash != prev.hash:
			// Both rows hash right, so one was rewritten with a fresh hash:
			// the earlier, since content is what a forger wants to change.
			fail(prev.seq, "entry %d was rewritten: entry %d links to a different entry %d", prev.seq, r.seq, prev.seq)
		case len(keys) > 0:
			checkSigner(r, keys, rep.Signed, fail)
			if r.sig != "" {
				sigs.check(r)
			}
		}
		if h, ok := anchors[r.seq]; ok && h != r.hash {
			fail(r.seq, "entry %d was rewritten: it differs from the exported head", r.seq)
		}
		delete(anchors, r.seq)
		prev = r
	}
	if err := rows.Err(); err != nil {
		return VerifyReport{}, fmt.Errorf("verify audit journal: %w", err)
	}
	if seq, ok := sigs.firstBad(); ok && (rep.OK || seq < rep.FirstBad) {
		rep.OK, rep.FirstBad = false, seq
		rep.Reason = fmt.Sprintf("entry %d was rewritten: its signature does not match its hash", seq)
	}
	rep.Head = Head{Seq: prev.seq, Hash: prev.hash}
	for seq := range anchors {
		fail(seq, "entry %d is missing: an export saw the chain reach it (truncated?)", seq)
	}
	if len(keys) > 0 && rep.Entries > 0 && rep.Signed == 0 {
		fail(1, "no entry is signed: nothing proves who wrote this journal")
	}
	if !rep.OK {
		return rep, nil
	}
	head, err := readHead(ctx, tx)
	switch {
	case err != nil:
		return VerifyReport{}, fmt.Errorf("verify audit journal: head: %w", err)
	case head == Head{}:
		if prev.seq != 0 {
			fail(prev.seq+1, "the journal's head record is missing: entries after %d may have been deleted", prev.seq)
		}
	case head.Seq > prev.seq:
		fail(prev.seq+1, "entries %d to %d are missing: the journal's head records entry %d", prev.seq+1, head.Seq, head.Seq)
	case head.Seq < prev.seq:
		fail(head.Seq+1, "entries after %d are not in the journal's head: appended outside fleetdeck", head.Seq)
	case head.Hash != prev.hash:
		fail(prev.seq, "entry %d was rewritten: it does not match the journal's head", prev.seq)
	}
	return rep, nil
}

// checkSigner holds r to the keys: signed by one of them, and unsigned
// only before the chain's first signature (legacy entries, which that
// signature covers through the hash links). The signature itself is
// checked by a sigChecker.
func checkSigner(r row, keys map[string]ed25519.PublicKey, signedSoFar int, fail func(int64, string, ...any)) {
	if r.sig == "" {
		if signedSoFar > 0 {
			fail(r.seq, "entry %d is not signed, though entries before it are", r.seq)
		}
		return
	}
	if _, ok := keys[r.signer]; !ok {
		fail(r.seq, "entry %d is signed by %s, which is not a key you gave", r.seq, clean(r.signer, maxField))
	}
}

// sigBatch is how many signatures a checker goroutine takes at a time.
const sigBatch = 256

// sigChecker checks signatures on every core while Verify walks the chain:
// a signature costs far more than a hash.
type sigChecker struct {
	keys  map[string]ed25519.PublicKey
	batch []row
	work  chan []row
	wg    sync.WaitGroup
	mu    sync.Mutex
	bad   int64 // the lowest Seq whose signature failed; 0: none
}

func newSigChecker(keys map[string]ed25519.PublicKey) *sigChecker {
	c := &sigChecker{keys: keys, work: make(chan []row, runtime.GOMAXPROCS(0))}
	if len(keys) == 0 {
		return c
	}
	work := c.work // stop clears the field
	for range runtime.GOMAXPROCS(0) {
		c.wg.Go(func() {
			for rows := range work {
				for _, r := range rows {
					if pub, ok := c.keys[r.signer]; ok && !checkSig(r, pub) {
						c.mu.Lock()
						if c.bad == 0 || r.seq < c.bad {
							c.bad = r.seq
						}
						c.mu.Unlock()
						break // later rows of the batch cannot come first
					}
				}
			}
		})
	}
	return c
}

func (c *sigChecker) check(r row) {
	c.batch = append(c.batch, r)
	if len(c.batch) == sigBatch {
		c.work <- c.batch
		c.batch = make([]row, 0, sigBatch)
	}
}

// stop waits for the checkers; it may be called more than once.
func (c *sigChecker) stop() {
	if c.work == nil {
		return
	}
	if len(c.batch) > 0 {
		c.work <- c.batch
		c.batch = nil
	}
	close(c.work)
	c.work = nil
	c.wg.Wait()
}

// firstBad stops the checkers and returns the lowest Seq whose signature
// did not verify.
func (c *sigChecker) firstBad() (int64, bool) {
	c.stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bad, c.bad != 0
}
