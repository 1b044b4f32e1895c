package audit

import (
	"errors"
	"strings"
	"time"
)

// ApprovalTTL is how long a request waits for a second operator before it
// expires, and how long an approval stays usable once given.
const ApprovalTTL = 10 * time.Minute

// ApprovalState is where an approval request stands.
type ApprovalState string

// Approval states. Pending and approved requests expire (ApprovalTTL);
// the others are final.
const (
	ApprovalPending   ApprovalState = "pending"
	ApprovalApproved  ApprovalState = "approved" // the requester may now ask for the code
	ApprovalRejected  ApprovalState = "rejected"
	ApprovalWithdrawn ApprovalState = "withdrawn" // by the requester
	ApprovalExpired   ApprovalState = "expired"   // nobody decided in time, or the approval was not used in time
	ApprovalUsed      ApprovalState = "used"      // the command was accepted with it
)

// Approval is a request for a second operator's approval of a command on a
// vehicle (four eyes) and where it stands. ID is the Seq of its journal
// entry, so every box and CLI on the journal names it alike.
type Approval struct {
	ID        int64         `json:"id"`
	VIN       string        `json:"vin"`
	Command   string        `json:"command"`
	Reason    string        `json:"reason"`
	Shown     string        `json:"shown,omitempty"` // the vehicle's state as the requester saw it
	Requester Actor         `json:"requester"`
	At        time.Time     `json:"at"`
	State     ApprovalState `json:"state"`
	Decider   *Actor        `json:"decider,omitempty"`
	DecidedAt time.Time     `json:"decided_at,omitzero"`
	Why       string        `json:"why,omitempty"`      // a rejection's reason
	UsedFor   string        `json:"used_for,omitempty"` // the id of the command accepted with it
	// Mine says the operator asking is the requester (filled in by the
	// desk that listed it).
	Mine bool `json:"-"`
}

// Expires is when a pending request expires or an approval lapses (zero
// for the final states).
func (a Approval) Expires() time.Time {
	switch a.State {
	case ApprovalPending:
		return a.At.Add(ApprovalTTL)
	case ApprovalApproved:
		return a.DecidedAt.Add(ApprovalTTL)
	}
	return time.Time{}
}

// Open reports a request someone can still act on: pending (to decide) or
// approved (to use).
func (a Approval) Open() bool { return a.State == ApprovalPending || a.State == ApprovalApproved }

// Errors of the approval desk.
var (
	ErrApprovalNotFound = errors.New("no such approval request")
	ErrOwnRequest       = errors.New("you cannot approve or reject your own request: another operator must")
	ErrApprovalClosed   = errors.New("the request is no longer open")
	ErrNotRequester     = errors.New("only the requester can withdraw a request")
	ErrApprovalRequired = errors.New("a second operator's approval is required")
	ErrReasonRequired   = errors.New("a reason is required")
)

// SamePerson reports whether a and b are (as far as the journal can tell)
// one operator: the same SSH key, or the same user name. The name alone
// would not do over SSH, where a client picks any name it likes; the key
// alone would not do across a local terminal and an SSH session.
func SamePerson(a, b Actor) bool {
	if a.KeyFingerprint != "" && a.KeyFingerprint == b.KeyFingerprint {
		return true
	}
	return a.User != "" && strings.EqualFold(a.User, b.User)
}

// Immobilisation is a vehicle whose ignition a disable_ignition switched
// off (the command succeeded) with no successful enable_ignition since.
type Immobilisation struct {
	VIN       string    `json:"vin"`
	Since     time.Time `json:"since"` // when the journal recorded the success
	By        Actor     `json:"by"`
	Reason    string    `json:"reason,omitempty"`
	CommandID string    `json:"command_id,omitempty"`
}
