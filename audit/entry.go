package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Action names what was done.
type Action string

// The mutating actions the journal records.
const (
	ActionClearanceAdd    Action = "clearance.add"
	ActionClearanceRevoke Action = "clearance.revoke"
	// ActionClearanceCancel withdraws a pending clearance request (pending →
	// canceling → canceled). Journals written before it existed record such
	// a cancel as clearance.revoke; those entries read and verify as written.
	ActionClearanceCancel Action = "clearance.cancel"
	// ActionCommandConfirmation is step one of a two-step command: the
	// platform issues a confirmation code (which is never recorded).
	ActionCommandConfirmation Action = "command.confirmation"
	// ActionCommandConfirm is step two: the command sent with the code the
	// operator typed (the code itself is never recorded).
	ActionCommandConfirm Action = "command.confirm"
	// ActionCommandSend is a single-step command.
	ActionCommandSend Action = "command.send"
	// ActionCommandStatus is the final status of an accepted command, an
	// outcome of the send or confirm intent that registered it.
	ActionCommandStatus Action = "command.status"
)

// Phase says whether an entry was written before the request or after it.
type Phase string

// Phases.
const (
	PhaseIntent  Phase = "intent"
	PhaseOutcome Phase = "outcome"
)

// Actor kinds.
const (
	KindLocal = "local"
	KindSSH   = "ssh"
)

// Actor is who did it.
type Actor struct {
	Kind           string `json:"kind"` // KindLocal or KindSSH
	User           string `json:"user"`
	KeyFingerprint string `json:"key_fingerprint,omitempty"` // SSH only: "SHA256:…"
	Role           string `json:"role,omitempty"`
}

// String is the actor as a table shows it.
func (a Actor) String() string {
	s := a.User
	if a.Kind == KindSSH {
		s = "ssh:" + s
		if a.KeyFingerprint != "" {
			s += " " + a.KeyFingerprint
		}
	}
	if a.Role != "" {
		s += " (" + a.Role + ")"
	}
	return s
}

// Entry is one row of the journal.
type Entry struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"` // UTC
	Actor     Actor     `json:"actor"`
	Action    Action    `json:"action"`
	VIN       string    `json:"vin,omitempty"`
	Command   string    `json:"command,omitempty"`
	CommandID string    `json:"command_id,omitempty"`
	Phase     Phase     `json:"phase"`
	Ref       int64     `json:"ref,omitempty"` // for an outcome: the Seq of its intent
	Outcome   string    `json:"outcome,omitempty"`
	PrevHash  string    `json:"prev_hash"`
	Hash      string    `json:"hash"`
	// Detail is what an entry says beyond the fields above, as names and
	// values (a command's reason, the speed the operator saw, who approved
	// a request): covered by Hash like every field. Nil for most entries.
	Detail map[string]string `json:"detail,omitempty"`
	// Signer is the fingerprint of the key that signed Hash ("" for an
	// unsigned entry); Sig the Ed25519 signature, base64.
	Signer string `json:"signer,omitempty"`
	Sig    string `json:"sig,omitempty"`
}

// Field bounds: an entry is a line in a log, not a place for payloads.
const (
	maxField   = 256
	maxOutcome = 1024
)

// timeLayout is fixed-width so that the stored text sorts as time does and
// --since can compare strings on an index.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// row is an entry as stored: the hash covers these exact values, so
// verification never depends on parsing and formatting a time again.
type row struct {
	seq                             int64
	at                              string
	kind, user, key, role           string
	action, vin, command, commandID string
	phase                           string
	ref                             int64
	outcome, prevHash, hash         string
	signer, sig                     string // not covered by hash: they sign it
	detail                          string // Detail as JSON (keys sorted), or ""
}

// hashDomain separates this encoding from any other use of SHA-256 and
// leaves room for a second version of it.
const hashDomain = "fleetdeck-audit/1\n"

// computeHash is hex SHA-256 over every field but the hash itself, each as
// a netstring (decimal length, colon, bytes, comma): no two different
// entries encode the same.
func (r row) computeHash() string {
	buf := make([]byte, 0, 256+len(r.outcome))
	buf = append(buf, hashDomain...)
	str := func(s string) {
		buf = strconv.AppendInt(buf, int64(len(s)), 10)
		buf = append(buf, ':')
		buf = append(buf, s...)
		buf = append(buf, ',')
	}
	num := func(n int64) { str(strconv.FormatInt(n, 10)) }
	num(r.seq)
	str(r.at)
	str(r.kind)
	str(r.user)
	str(r.key)
	str(r.role)
	str(r.action)
	str(r.vin)
	str(r.command)
	str(r.commandID)
	str(r.phase)
	num(r.ref)
	str(r.outcome)
	str(r.prevHash)
	// Added with the detail column: an entry without detail hashes as
	// before, so older chains still verify; with it, one more netstring.
	if r.detail != "" {
		str(r.detail)
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

func (r row) entry() Entry {
	at, _ := time.Parse(timeLayout, r.at)
	return Entry{
		Seq: r.seq, At: at,
		Actor:  Actor{Kind: r.kind, User: r.user, KeyFingerprint: r.key, Role: r.role},
		Action: Action(r.action), VIN: r.vin, Command: r.command, CommandID: r.commandID,
		Phase: Phase(r.phase), Ref: r.ref, Outcome: r.outcome, PrevHash: r.prevHash, Hash: r.hash,
		Detail: decodeDetail(r.detail), Signer: r.signer, Sig: r.sig,
	}
}

// clean makes a string fit for the journal: terminal-safe (it is printed by
// `fleetdeck audit`) and bounded.
func clean(s string, n int) string {
	return termsafe.Clip(termsafe.String(s), n)
}

func (a Actor) clean() Actor {
	a.Kind = clean(a.Kind, maxField)
	if a.Kind != KindSSH {
		a.Kind = KindLocal
	}
	a.User = clean(a.User, maxField)
	if a.User == "" {
		a.User = "unknown"
	}
	a.KeyFingerprint = clean(a.KeyFingerprint, maxField)
	a.Role = clean(a.Role, maxField)
	return a
}

// Detail bounds: a few short facts, not a payload.
const (
	maxDetailKeys  = 16
	maxDetailValue = 512
)

// encodeDetail is a detail as stored: cleaned like every field, bounded,
// and as JSON with sorted keys (encoding/json sorts map keys), so the same
// detail always hashes the same.
func encodeDetail(d map[string]string) string {
	if len(d) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(d))
	if len(keys) > maxDetailKeys {
		keys = keys[:maxDetailKeys]
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if ck := clean(k, maxField); ck != "" {
			out[ck] = clean(d[k], maxDetailValue)
		}
	}
	if len(out) == 0 {
		return ""
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "" // a map of strings always encodes
	}
	return string(b)
}

// decodeDetail reads a stored detail; a detail edited into something that
// is not JSON reads as nil (Verify reports the edit).
func decodeDetail(s string) map[string]string {
	if s == "" {
		return nil
	}
	var d map[string]string
	if json.Unmarshal([]byte(s), &d) != nil {
		return nil
	}
	return d
}
